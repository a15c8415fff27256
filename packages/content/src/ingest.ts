import { type IngestStatus, type Timestamp, failedPrecondition, nowTimestamp } from "@berth/api";
import { type Hash, createHash } from "node:crypto";
import { rmSync, statSync, writeFileSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import { isNotFound, readOptionalText, writeFileAtomic } from "./fs-util.js";
import { ingestFiles } from "./layout.js";
import { compareTimestamps, formatRfc3339Nano, parseRfc3339Nano, timestampFromNs } from "./rfc3339.js";

const chunkSize = 1 << 20;

/** An ingest opened for writing: its data file, the running hash of its bytes, and its status. */
export interface OpenIngest {
  readonly handle: FileHandle;
  readonly hash: Hash;
  readonly offset: number;
  readonly total: number;
  readonly expected: string;
  readonly startedAt: Timestamp;
  readonly updatedAt: Timestamp;
}

/**
 * Opens the ingest in `dir` (whose lock the caller holds) for `ref`: resumes an existing one at
 * its size, re-hashing its bytes so that the digest is right, or starts a new one. `total` and
 * `expected`, when given, replace what the ingest had.
 */
export async function openIngest(dir: string, ref: string, total: number, expected: string): Promise<OpenIngest> {
  const path = (name: string) => join(dir, name);
  const storedRef = readOptionalText(path(ingestFiles.ref));
  if (storedRef !== undefined && storedRef !== ref) {
    throw failedPrecondition(`ingest directory for ref ${JSON.stringify(ref)} belongs to ref ${JSON.stringify(storedRef)}`);
  }
  if (total > 0) writeFileSync(path(ingestFiles.total), String(total));
  if (expected !== "") writeFileSync(path(ingestFiles.expected), expected);

  if (storedRef === undefined) {
    // New (or never fully created): `ref` is written last, so its presence marks a usable ingest.
    const now = nowTimestamp();
    const handle = await open(path(ingestFiles.data), "w+", 0o644);
    try {
      // leftovers of a half-created ingest must not leak into this one
      if (total === 0) rmSync(path(ingestFiles.total), { force: true });
      if (expected === "") rmSync(path(ingestFiles.expected), { force: true });
      writeFileSync(path(ingestFiles.startedAt), formatRfc3339Nano(now));
      writeFileSync(path(ingestFiles.updatedAt), formatRfc3339Nano(now));
      await writeFileAtomic(path(ingestFiles.ref), ref);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return { handle, hash: createHash("sha256"), offset: 0, total, expected, startedAt: now, updatedAt: now };
  }

  const status = readIngestStatus(dir);
  const handle = await openData(path(ingestFiles.data));
  try {
    const size = (await handle.stat()).size;
    const hash = createHash("sha256");
    await hashRange(handle, hash, 0, size);
    return {
      handle,
      hash,
      offset: size,
      total: total > 0 ? total : (status?.total ?? 0),
      expected: expected !== "" ? expected : (status?.expected ?? ""),
      startedAt: status?.startedAt ?? nowTimestamp(),
      updatedAt: status?.updatedAt ?? nowTimestamp(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function openData(path: string): Promise<FileHandle> {
  try {
    return await open(path, "r+");
  } catch (error) {
    if (isNotFound(error)) return open(path, "w+", 0o644);
    throw error;
  }
}

/** Feeds bytes [start, end) of the file to `hash`. */
export async function hashRange(handle: FileHandle, hash: Hash, start: number, end: number): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(chunkSize, Math.max(end - start, 1)));
  for (let position = start; position < end;) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
    if (bytesRead === 0) throw failedPrecondition(`ingest data shrank while being hashed at ${position} of ${end} bytes`);
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

export function touchUpdatedAt(dir: string, at: Timestamp): void {
  writeFileSync(join(dir, ingestFiles.updatedAt), formatRfc3339Nano(at));
}

/** The status of the ingest in `dir`; undefined when there is none (or it is being created or removed). */
export function readIngestStatus(dir: string): IngestStatus | undefined {
  const path = (name: string) => join(dir, name);
  const ref = readOptionalText(path(ingestFiles.ref));
  if (ref === undefined) return undefined;
  let data;
  try {
    data = statSync(path(ingestFiles.data), { bigint: true });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  const mtime = timestampFromNs(data.mtimeNs);
  const startedAt =
    parseRfc3339Nano(readOptionalText(path(ingestFiles.startedAt)) ?? "") ?? timestampFromNs(data.birthtimeNs > 0n ? data.birthtimeNs : data.mtimeNs);
  const written = parseRfc3339Nano(readOptionalText(path(ingestFiles.updatedAt)) ?? "");
  // The data file's mtime may be newer than the last `updatedat` written, as in containerd.
  const updatedAt = written !== undefined && compareTimestamps(written, mtime) >= 0 ? written : mtime;
  const total = Number.parseInt(readOptionalText(path(ingestFiles.total)) ?? "", 10);
  const expected = (readOptionalText(path(ingestFiles.expected)) ?? "").trim();
  return { ref, offset: Number(data.size), total: Number.isSafeInteger(total) && total > 0 ? total : 0, expected, startedAt, updatedAt };
}
