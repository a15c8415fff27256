import type { Timestamp } from "@berth/api";

const pad = (value: number, width = 2) => String(value).padStart(width, "0");

function utcParts(ts: Timestamp): { date: string; time: string; fraction: string } {
  const date = new Date(ts.seconds * 1000);
  const fraction = pad(ts.nanos, 9).replace(/0+$/, "");
  return {
    date: `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`,
    time: `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`,
    fraction: fraction === "" ? "" : `.${fraction}`,
  };
}

/** Go's time.Time.String() of a UTC time: `2017-06-23 23:21:30.271802153 +0000 UTC`. */
export function goTimeString(ts: Timestamp): string {
  const { date, time, fraction } = utcParts(ts);
  return `${date} ${time}${fraction} +0000 UTC`;
}

/** RFC 3339 with nanoseconds, as Go's encoding/json writes a time.Time. */
export function goRfc3339Nano(ts: Timestamp): string {
  const { date, time, fraction } = utcParts(ts);
  return `${date}T${time}${fraction}Z`;
}

/** Fields of containerd's messages that are maps: their keys are data, not field names. */
const mapFields = new Set(["labels", "annotations", "exports"]);

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

function isTimestamp(value: object): value is Timestamp {
  const keys = Object.keys(value);
  return keys.length === 2 && "seconds" in value && "nanos" in value;
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === "" || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (value instanceof Uint8Array) return value.length === 0;
  return false;
}

/**
 * A decoded message as Go's encoding/json writes containerd's generated types: proto field names,
 * empty fields omitted, times in RFC 3339, bytes in base64.
 */
export function goJson(message: unknown): unknown {
  if (message instanceof Uint8Array) return Buffer.from(message).toString("base64");
  if (Array.isArray(message)) return message.map(goJson);
  if (typeof message !== "object" || message === null) return message;
  if (isTimestamp(message)) return goRfc3339Nano(message);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    if (isEmpty(value)) continue;
    if (mapFields.has(key) && typeof value === "object" && value !== null) {
      if (Object.keys(value).length > 0) out[key] = value;
    } else {
      out[snakeCase(key)] = goJson(value);
    }
  }
  return out;
}

/** Now, as RFC 3339 in whole seconds: how ctr stamps `containerd.io/gc.root` and lease expiry. */
export function rfc3339Seconds(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

/** Go's time.Duration.String of `nanoseconds`: "1.5s", "2m3.25s", "812.4ms", "0s". */
export function goDuration(nanoseconds: bigint): string {
  if (nanoseconds === 0n) return "0s";
  const sign = nanoseconds < 0n ? "-" : "";
  const ns = nanoseconds < 0n ? -nanoseconds : nanoseconds;
  const fraction = (value: bigint, unit: bigint, digits: number) => {
    const whole = value / unit;
    const rest = (value % unit).toString().padStart(digits, "0").replace(/0+$/, "");
    return rest === "" ? `${whole}` : `${whole}.${rest}`;
  };
  if (ns < 1000n) return `${sign}${ns}ns`;
  if (ns < 1_000_000n) return `${sign}${fraction(ns, 1000n, 3)}µs`;
  if (ns < 1_000_000_000n) return `${sign}${fraction(ns, 1_000_000n, 6)}ms`;
  const hours = ns / 3_600_000_000_000n;
  const minutes = (ns / 60_000_000_000n) % 60n;
  const seconds = fraction(ns % 60_000_000_000n, 1_000_000_000n, 9);
  return `${sign}${hours > 0n ? `${hours}h` : ""}${hours > 0n || minutes > 0n ? `${minutes}m` : ""}${seconds}s`;
}
