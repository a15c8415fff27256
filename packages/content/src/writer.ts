import {
  type ContentWriter,
  type IngestStatus,
  type Timestamp,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  nowTimestamp,
  outOfRange,
  validateDigest,
  validateLabels,
} from "@berth/api";
import { type Hash, createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { chmod, link, lstat, mkdir, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { removeBlobLabels, withoutEmptyValues, writeBlobLabels } from "./blob-labels.js";
import { errnoCode, fsyncDir, isNotFound, removeDirAtomic } from "./fs-util.js";
import { type OpenIngest, hashRange, touchUpdatedAt } from "./ingest.js";
import { type Layout, ingestFiles } from "./layout.js";
import type { RefLock } from "./ref-lock.js";
import { timestampFromNs } from "./rfc3339.js";
import { type KeyedSerial, Serial } from "./serial.js";

/** What a writer needs from the store that opened it. */
export interface WriterHost {
  readonly layout: Layout;
  /** Serialises label writes per digest with the store's `update` and `delete`. */
  readonly labelQueue: KeyedSerial;
  /** Called once, when the writer ends, to free the ref in the store instance. */
  readonly released: () => void;
}

/** Filesystems without hard links; there the rename fallback may replace an identical blob. */
const noLinkCodes = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "EMLINK", "ENOSYS"]);

/**
 * A writer of one ingest, holding its ref's lock. Operations run one at a time in call order,
 * so that a commit never overlaps a write. The running hash always covers exactly the bytes of
 * the data file: every write and truncate keeps the two in step.
 */
export class LocalContentWriter implements ContentWriter {
  readonly #host: WriterHost;
  readonly #dir: string;
  readonly #lock: RefLock;
  readonly #handle: FileHandle;
  readonly #serial = new Serial();
  #hash: Hash;
  #offset: number;
  readonly #total: number;
  readonly #expected: string;
  readonly #startedAt: Timestamp;
  #updatedAt: Timestamp;
  #ended = false;
  #handleClosed = false;
  #touched = false;

  constructor(
    host: WriterHost,
    readonly ref: string,
    dir: string,
    lock: RefLock,
    ingest: OpenIngest,
  ) {
    this.#host = host;
    this.#dir = dir;
    this.#lock = lock;
    this.#handle = ingest.handle;
    this.#hash = ingest.hash;
    this.#offset = ingest.offset;
    this.#total = ingest.total;
    this.#expected = ingest.expected;
    this.#startedAt = ingest.startedAt;
    this.#updatedAt = ingest.updatedAt;
  }

  status(): Promise<IngestStatus> {
    return this.#serial.run(async () => ({
      ref: this.ref,
      offset: this.#offset,
      total: this.#total,
      expected: this.#expected,
      startedAt: this.#startedAt,
      updatedAt: this.#updatedAt,
    }));
  }

  digest(): Promise<string> {
    return this.#serial.run(async () => this.#digest());
  }

  write(data: Uint8Array, offset?: number): Promise<void> {
    return this.#serial.run(async () => {
      this.#assertOpen("write");
      if (offset !== undefined && offset !== this.#offset) {
        if (offset !== 0) throw outOfRange(`write at offset ${offset}: ingest ${JSON.stringify(this.ref)} is at ${this.#offset}`);
        await this.#truncateTo(0); // a restart
      }
      const start = this.#offset;
      try {
        for (let done = 0; done < data.byteLength;) {
          const { bytesWritten } = await this.#handle.write(data, done, data.byteLength - done, start + done);
          done += bytesWritten;
        }
      } catch (error) {
        // keep file and hash in step: drop whatever part of this write landed
        await this.#handle.truncate(start).catch(() => undefined);
        throw error;
      }
      this.#hash.update(data);
      this.#offset = start + data.byteLength;
      this.#touch();
    });
  }

  truncate(size: number): Promise<void> {
    return this.#serial.run(async () => {
      this.#assertOpen("truncate");
      if (!Number.isSafeInteger(size) || size < 0) throw invalidArgument(`truncate: invalid size ${size}`);
      if (size > this.#offset) throw outOfRange(`truncate to ${size}: ingest ${JSON.stringify(this.ref)} holds ${this.#offset} bytes`);
      await this.#truncateTo(size);
    });
  }

  commit(size: number, expected: string, labels: Readonly<Record<string, string>> = {}): Promise<void> {
    return this.#serial.run(async () => {
      this.#assertOpen("commit");
      // Commit ends the writer whatever its outcome; on failure the ingest stays for a later writer.
      this.#ended = true;
      try {
        validateLabels(labels);
        if (expected !== "") validateDigest(expected, "expected");
        await this.#handle.sync();
        if (size > 0 && size !== this.#offset) throw failedPrecondition(`unexpected commit size ${this.#offset}, expected ${size}`);
        const digest = this.#digest();
        if (expected !== "" && expected !== digest) throw failedPrecondition(`unexpected commit digest ${digest}, expected ${expected}`);
        await this.#publish(digest, withoutEmptyValues(labels));
      } finally {
        await this.#end();
      }
    });
  }

  close(): Promise<void> {
    return this.#serial.run(async () => {
      if (this.#ended) return;
      this.#ended = true;
      await this.#handle.sync().catch(() => undefined);
      if (this.#touched) await touchUpdatedAt(this.#dir, this.#updatedAt).catch(() => undefined);
      await this.#end();
    });
  }

  /** Makes the verified ingest the blob `digest`: durable first, then visible, never half-written. */
  async #publish(digest: string, labels: Record<string, string>): Promise<void> {
    const { layout } = this.#host;
    const target = layout.blobPath(digest);
    if (await exists(target)) {
      await removeDirAtomic(this.#dir);
      throw alreadyExists(`content ${digest}`);
    }
    await mkdir(layout.blobsDir, { recursive: true });
    const data = join(this.#dir, ingestFiles.data);
    // createdAt is the blob file's mtime, so stamp it with the commit time
    const now = Date.now() / 1000;
    await this.#handle.chmod(0o444);
    await this.#handle.utimes(now, now);
    await this.#handle.sync();
    await this.#closeHandle();
    try {
      // link(2) never replaces an existing blob, so a concurrent commit elsewhere shows as AlreadyExists
      await link(data, target);
    } catch (error) {
      const code = errnoCode(error);
      if (code === "EEXIST") {
        await removeDirAtomic(this.#dir);
        throw alreadyExists(`content ${digest}`);
      }
      if (code === undefined || !noLinkCodes.has(code)) {
        await chmod(data, 0o644).catch(() => undefined);
        throw error;
      }
      await rename(data, target);
    }
    await fsyncDir(layout.blobsDir);
    const createdAt = timestampFromNs((await stat(target, { bigint: true })).mtimeNs);
    const labelsPath = layout.labelsPath(digest);
    // a sidecar left by an earlier blob of this digest (deleted mid-way) must not resurface
    await this.#host.labelQueue.run(digest, () =>
      Object.keys(labels).length > 0 ? writeBlobLabels(labelsPath, { labels, updatedAt: createdAt }) : removeBlobLabels(labelsPath),
    );
    await removeDirAtomic(this.#dir);
  }

  async #truncateTo(size: number): Promise<void> {
    await this.#handle.truncate(size);
    const hash = createHash("sha256");
    await hashRange(this.#handle, hash, 0, size);
    this.#hash = hash;
    this.#offset = size;
    this.#touch();
  }

  /** Kept in memory and written at close, as containerd does, not with an open, write and close per chunk (status falls back to the data file's mtime). */
  #touch(): void {
    this.#updatedAt = nowTimestamp();
    this.#touched = true;
  }

  #digest(): string {
    return `sha256:${this.#hash.copy().digest("hex")}`;
  }

  #assertOpen(operation: string): void {
    if (this.#ended) throw failedPrecondition(`${operation}: writer for ref ${JSON.stringify(this.ref)} is closed`);
  }

  async #closeHandle(): Promise<void> {
    if (this.#handleClosed) return;
    this.#handleClosed = true;
    await this.#handle.close();
  }

  async #end(): Promise<void> {
    try {
      await this.#closeHandle().catch(() => undefined);
      await this.#lock.release();
    } finally {
      this.#host.released();
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}
