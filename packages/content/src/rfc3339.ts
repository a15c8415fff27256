import type { Timestamp } from "@berth/api";

/**
 * Timestamps in the ingest files are RFC 3339 with nanoseconds, trailing zeros trimmed, as Go's
 * time.RFC3339Nano writes them (containerd's own `startedat`/`updatedat` files).
 */
export function formatRfc3339Nano(ts: Timestamp): string {
  const base = new Date(ts.seconds * 1000).toISOString().slice(0, 19);
  const fraction = ts.nanos === 0 ? "" : `.${String(ts.nanos).padStart(9, "0").replace(/0+$/, "")}`;
  return `${base}${fraction}Z`;
}

const pattern = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Parses what `formatRfc3339Nano` (or Go) wrote; undefined for anything else. */
export function parseRfc3339Nano(text: string): Timestamp | undefined {
  const match = pattern.exec(text.trim());
  if (match === null) return undefined;
  const [, base = "", fraction = "", zone = "Z"] = match;
  const ms = Date.parse(`${base}${zone}`);
  if (Number.isNaN(ms)) return undefined;
  return { seconds: Math.floor(ms / 1000), nanos: Number(fraction.padEnd(9, "0")) };
}

/** A stat time in nanoseconds (from `stat(..., { bigint: true })`) as a Timestamp. */
export function timestampFromNs(ns: bigint): Timestamp {
  const seconds = ns / 1_000_000_000n;
  const nanos = ns % 1_000_000_000n;
  return nanos < 0n ? { seconds: Number(seconds) - 1, nanos: Number(nanos + 1_000_000_000n) } : { seconds: Number(seconds), nanos: Number(nanos) };
}

export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  return a.seconds - b.seconds || a.nanos - b.nanos;
}
