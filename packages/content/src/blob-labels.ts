import { type Timestamp, errorOfKind, invalidArgument, validateLabels } from "@berth/api";
import { rmSync } from "node:fs";
import { readOptionalText, writeFileAtomic } from "./fs-util.js";
import { formatRfc3339Nano, parseRfc3339Nano } from "./rfc3339.js";

/** A blob's labels sidecar: `{"labels": {...}, "updatedAt": "<RFC 3339>"}`. */
export interface BlobLabels {
  readonly labels: Readonly<Record<string, string>>;
  readonly updatedAt: Timestamp;
}

/** undefined when the blob has no sidecar (no labels, never updated). */
export async function readBlobLabels(path: string): Promise<BlobLabels | undefined> {
  const text = readOptionalText(path);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const record = parsed as { labels?: unknown; updatedAt?: unknown } | undefined;
  const labels = record?.labels;
  const updatedAt = typeof record?.updatedAt === "string" ? parseRfc3339Nano(record.updatedAt) : undefined;
  const valid = typeof labels === "object" && labels !== null && !Array.isArray(labels) && Object.values(labels).every((value) => typeof value === "string");
  // Written atomically, so this is damage from outside; losing labels silently could lose GC roots.
  if (!valid || updatedAt === undefined) throw errorOfKind("DataLoss", `labels file ${path} is corrupt`);
  return { labels: { ...(labels as Record<string, string>) }, updatedAt };
}

/** The sidecar's content. */
export function blobLabelsText(value: BlobLabels): string {
  return `${JSON.stringify({ labels: value.labels, updatedAt: formatRfc3339Nano(value.updatedAt) })}\n`;
}

export async function writeBlobLabels(path: string, value: BlobLabels): Promise<void> {
  await writeFileAtomic(path, blobLabelsText(value));
}

export function removeBlobLabels(path: string): void {
  rmSync(path, { force: true });
}

/** Labels as stored: empty values mean "no such label" and are dropped. */
export function withoutEmptyValues(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([, value]) => value !== ""));
}

/**
 * Content.Update's label semantics: no fieldpaths or `labels` replace all labels, `labels.<key>`
 * sets (or, with an empty or missing value, removes) one; anything else is InvalidArgument. The
 * result is validated as a whole, so nothing changes when any label is oversized.
 */
export function updatedLabels(
  current: Readonly<Record<string, string>>,
  requested: Readonly<Record<string, string>>,
  fieldpaths: readonly string[],
): Record<string, string> {
  // A Map, so that keys such as "__proto__" are plain keys
  let next = new Map(Object.entries(fieldpaths.length === 0 ? requested : current));
  for (const path of fieldpaths) {
    if (path === "labels") {
      next = new Map(Object.entries(requested));
    } else if (path.startsWith("labels.") && path.length > "labels.".length) {
      const key = path.slice("labels.".length);
      next.set(key, Object.hasOwn(requested, key) ? (requested[key] ?? "") : "");
    } else {
      throw invalidArgument(`cannot update ${JSON.stringify(path)} field on content info`);
    }
  }
  const result = withoutEmptyValues(Object.fromEntries(next));
  validateLabels(result);
  return result;
}
