import {
  type CallContext,
  type ContentInfo,
  type ContentStore,
  type ContentWriter,
  type IngestStatus,
  type WriterOptions,
  alreadyExists,
  invalidArgument,
  isKind,
  notFound,
  nowTimestamp,
  outOfRange,
  unavailable,
  validateDigest,
} from "@berth/api";
import { type Filter, adaptObject, parseFilters } from "@berth/filters";
import { type BigIntStats, closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { mkdir, open, readdir, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { readBlobLabels, removeBlobLabels, updatedLabels, writeBlobLabels } from "./blob-labels.js";
import { isNotFound, readOptionalText, removeDirAtomic } from "./fs-util.js";
import { openIngest, readIngestStatus } from "./ingest.js";
import { Layout, ingestFiles, isHexName } from "./layout.js";
import { type RefLock, acquireRefLock } from "./ref-lock.js";
import { timestampFromNs } from "./rfc3339.js";
import { KeyedSerial } from "./serial.js";
import { LocalContentWriter } from "./writer.js";

const readChunkSize = 1 << 20;

/**
 * Ranges up to this size (manifests, indexes, configs) are read with blocking calls: four thread-pool
 * round trips cost a small read ~30-50 µs, the blocking calls ~3 µs, and a client listing images reads
 * thousands of them one after another.
 */
const smallReadSize = 64 << 10;

/** The byte range a read covers; OutOfRange when it starts past the end. */
function readRange(digest: string, size: number, offset: number, length: number): { start: number; end: number } {
  const start = Number.isFinite(offset) && offset > 0 ? Math.trunc(offset) : 0;
  if (start > size) throw outOfRange(`read offset ${start} beyond size ${size} of ${digest}`);
  const end = Number.isFinite(length) && length > 0 ? Math.min(size, start + Math.trunc(length)) : size;
  return { start, end };
}

/** The whole range when it is small, read at once; undefined for a larger one. */
function readSmallRange(path: string, digest: string, offset: number, length: number): Uint8Array | undefined {
  const fd = openSync(path, "r");
  try {
    const { start, end } = readRange(digest, fstatSync(fd).size, offset, length);
    if (end - start > smallReadSize) return undefined;
    const bytes = Buffer.allocUnsafe(end - start);
    let filled = 0;
    while (filled < bytes.length) {
      const read = readSync(fd, bytes, filled, bytes.length - filled, start + filled);
      if (read === 0) break;
      filled += read;
    }
    return bytes.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

/**
 * How often a held ref is tried before the writer gives up with Unavailable, sleeping a random
 * 0 to 2^n ms after try n (containerd's local store does the same). A client that closes one Write
 * stream and at once opens another for the same ref is served: the daemon notices the first
 * stream's end, and frees its ref, a moment after the second stream asks for it.
 */
const lockAttempts = 10;

async function retryWhileLocked<T>(attempt: () => Promise<T>): Promise<T> {
  for (let count = 0; ; count++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isKind(error, "Unavailable") || count + 1 >= lockAttempts) throw error;
    }
    await sleep(Math.floor(Math.random() * (1 << count)));
  }
}

/**
 * A content store in a local directory, laid out like containerd's `content/local`:
 * `blobs/sha256/<hex>` (read-only files), `ingest/<sha256(ref)>/` (data, ref, startedat,
 * updatedat, total, expected, lock), plus `labels/sha256/<hex>.json` for blob labels.
 *
 * Not namespaced: the call context is ignored. Several instances, in one process or several, may
 * share a root; a ref is held by one writer at a time across all of them (see `acquireRefLock`).
 */
export class LocalContentStore implements ContentStore {
  readonly root: string;
  readonly #layout: Layout;
  /** Refs with a live writer (or an abort under way) in this instance. */
  readonly #held = new Set<string>();
  readonly #labelQueue = new KeyedSerial();

  /** Directories are created when first needed; `open` creates them up front. */
  constructor(root: string) {
    this.root = resolve(root);
    this.#layout = new Layout(this.root);
  }

  /** A store whose directories exist, so that a root that cannot be written fails here. */
  static async open(root: string): Promise<LocalContentStore> {
    const store = new LocalContentStore(root);
    const layout = store.#layout;
    for (const dir of [layout.blobsDir, layout.ingestRoot, layout.labelsDir]) await mkdir(dir, { recursive: true });
    return store;
  }

  async info(_context: CallContext, digest: string): Promise<ContentInfo> {
    validateDigest(digest);
    return this.#infoOf(digest, this.#statBlob(digest));
  }

  async update(_context: CallContext, info: Pick<ContentInfo, "digest" | "labels">, fieldpaths: readonly string[]): Promise<ContentInfo> {
    const { digest } = info;
    validateDigest(digest);
    return this.#labelQueue.run(digest, async () => {
      const stats = this.#statBlob(digest);
      const path = this.#layout.labelsPath(digest);
      const current = await readBlobLabels(path);
      const labels = updatedLabels(current?.labels ?? {}, info.labels ?? {}, fieldpaths);
      const updatedAt = nowTimestamp();
      await writeBlobLabels(path, { labels, updatedAt });
      return { digest, size: Number(stats.size), createdAt: timestampFromNs(stats.mtimeNs), updatedAt, labels };
    });
  }

  list(_context: CallContext, filters: readonly string[]): AsyncIterable<ContentInfo> {
    // parsed now, so that a malformed filter fails the call rather than its first iteration
    return this.#list(parseFilters(filters));
  }

  async delete(_context: CallContext, digest: string): Promise<void> {
    validateDigest(digest);
    await this.#labelQueue.run(digest, async () => {
      try {
        await unlink(this.#layout.blobPath(digest));
      } catch (error) {
        if (isNotFound(error)) throw notFound(`content digest ${digest}`);
        throw error;
      }
      await removeBlobLabels(this.#layout.labelsPath(digest));
    });
  }

  read(_context: CallContext, digest: string, offset = 0, length = 0): AsyncIterable<Uint8Array> {
    validateDigest(digest);
    return this.#read(digest, offset, length);
  }

  async writer(_context: CallContext, options: WriterOptions): Promise<ContentWriter> {
    const { ref } = options;
    const total = options.total ?? 0;
    const expected = options.expected ?? "";
    if (typeof ref !== "string" || ref === "") throw invalidArgument("ref must not be empty");
    if (!Number.isSafeInteger(total) || total < 0) throw invalidArgument(`total: invalid size ${total}`);
    if (expected !== "") validateDigest(expected, "expected");
    const dir = this.#layout.ingestDir(ref);
    const lock = await retryWhileLocked(() => this.#lockRef(ref, dir, expected));
    try {
      const ingest = await openIngest(dir, ref, total, expected);
      const host = { layout: this.#layout, labelQueue: this.#labelQueue, released: () => this.#held.delete(ref) };
      return new LocalContentWriter(host, ref, dir, lock, ingest);
    } catch (error) {
      await lock.release().catch(() => undefined);
      this.#held.delete(ref);
      throw error;
    }
  }

  /**
   * Holds `ref` in this instance and across processes: Unavailable while another writer has it,
   * AlreadyExists (before any ingest directory is made) when the expected blob is stored already.
   */
  async #lockRef(ref: string, dir: string, expected: string): Promise<RefLock> {
    if (this.#held.has(ref)) throw unavailable(`ref ${JSON.stringify(ref)} locked`);
    this.#held.add(ref);
    try {
      if (expected !== "" && this.#blobExists(expected)) throw alreadyExists(`content ${expected}`);
      const lock = await acquireRefLock(dir, ref, true);
      if (lock === undefined) throw unavailable(`ref ${JSON.stringify(ref)}: ingest directory vanished`);
      return lock;
    } catch (error) {
      this.#held.delete(ref);
      throw error;
    }
  }

  async status(_context: CallContext, ref: string): Promise<IngestStatus> {
    const status = ref === "" ? undefined : readIngestStatus(this.#layout.ingestDir(ref));
    if (status === undefined || status.ref !== ref) throw notFound(`ingest ref ${JSON.stringify(ref)}`);
    return status;
  }

  async listStatuses(_context: CallContext, filters: readonly string[]): Promise<IngestStatus[]> {
    const filter = parseFilters(filters);
    const statuses: IngestStatus[] = [];
    for (const name of await this.#entries(this.#layout.ingestRoot)) {
      const status = readIngestStatus(join(this.#layout.ingestRoot, name));
      if (status !== undefined && filter.match(adaptObject({ ref: status.ref }))) statuses.push(status);
    }
    return statuses.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  }

  /** Removes the ingest; Unavailable while a writer (here or in a live process) holds the ref. */
  async abort(_context: CallContext, ref: string): Promise<void> {
    if (ref === "") throw notFound('ingest ref ""');
    if (this.#held.has(ref)) throw unavailable(`ref ${JSON.stringify(ref)} locked`);
    this.#held.add(ref);
    try {
      const dir = this.#layout.ingestDir(ref);
      const lock = await acquireRefLock(dir, ref, false);
      if (lock === undefined) throw notFound(`ingest ref ${JSON.stringify(ref)}`);
      let removed = false;
      try {
        if (readOptionalText(join(dir, ingestFiles.ref)) !== ref) throw notFound(`ingest ref ${JSON.stringify(ref)}`);
        removeDirAtomic(dir); // the lock goes with it
        removed = true;
      } finally {
        if (!removed) await lock.release();
      }
    } finally {
      this.#held.delete(ref);
    }
  }

  async *#list(filter: Filter): AsyncGenerator<ContentInfo> {
    for (const name of await this.#entries(this.#layout.blobsDir)) {
      const digest = `sha256:${name}`;
      let stats: BigIntStats;
      try {
        stats = await stat(this.#layout.blobPath(digest), { bigint: true });
      } catch (error) {
        if (isNotFound(error)) continue; // deleted while listing
        throw error;
      }
      const info = await this.#infoOf(digest, stats);
      if (filter.match(adaptObject({ digest, labels: info.labels }, ["labels"]))) yield info;
    }
  }

  async *#read(digest: string, offset: number, length: number): AsyncGenerator<Uint8Array> {
    const path = this.#layout.blobPath(digest);
    let small: Uint8Array | undefined;
    try {
      small = readSmallRange(path, digest, offset, length);
    } catch (error) {
      if (isNotFound(error)) throw notFound(`content digest ${digest}`);
      throw error;
    }
    if (small !== undefined) {
      if (small.length > 0) yield small;
      return;
    }
    let handle;
    try {
      handle = await open(path, "r");
    } catch (error) {
      if (isNotFound(error)) throw notFound(`content digest ${digest}`);
      throw error;
    }
    try {
      const size = (await handle.stat()).size;
      const { start, end } = readRange(digest, size, offset, length);
      for (let position = start; position < end;) {
        // a fresh buffer per chunk: the consumer may keep it
        const chunk = Buffer.allocUnsafe(Math.min(readChunkSize, end - position));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        yield chunk.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }

  async #infoOf(digest: string, stats: BigIntStats): Promise<ContentInfo> {
    const createdAt = timestampFromNs(stats.mtimeNs);
    const stored = await readBlobLabels(this.#layout.labelsPath(digest));
    return { digest, size: Number(stats.size), createdAt, updatedAt: stored?.updatedAt ?? createdAt, labels: stored?.labels ?? {} };
  }

  #statBlob(digest: string): BigIntStats {
    try {
      return statSync(this.#layout.blobPath(digest), { bigint: true });
    } catch (error) {
      if (isNotFound(error)) throw notFound(`content digest ${digest}`);
      throw error;
    }
  }

  #blobExists(digest: string): boolean {
    return statSync(this.#layout.blobPath(digest), { throwIfNoEntry: false }) !== undefined;
  }

  /** Our entries of a directory (64-hex names), sorted; none when it does not exist yet. */
  async #entries(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir)).filter(isHexName).sort();
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }
}
