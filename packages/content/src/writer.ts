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
import { chmodSync, fchmodSync, fstatSync, futimesSync, linkSync, lstatSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { blobLabelsText, removeBlobLabels, withoutEmptyValues } from "./blob-labels.js";
import { discardStaged, errnoCode, fsyncDir, placeStaged, removeDirAtomic, stageFile } from "./fs-util.js";
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
        const digest = this.#digest();
        const mismatch =
          size > 0 && size !== this.#offset
            ? `unexpected commit size ${this.#offset}, expected ${size}`
            : expected !== "" && expected !== digest
              ? `unexpected commit digest ${digest}, expected ${expected}`
              : undefined;
        if (mismatch !== undefined) {
          await this.#handle.sync(); // the ingest stays, for a later writer
          throw failedPrecondition(mismatch);
        }
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
      if (this.#touched) {
        try {
          touchUpdatedAt(this.#dir, this.#updatedAt);
        } catch {
          // only a status field; the data file's mtime stands in for it
        }
      }
      await this.#end();
    });
  }

  /**
   * Makes the verified ingest the blob `digest`: durable first, then visible, never half-written.
   * Metadata calls are blocking (see fs-util); the syncs run off the main thread, two at a time.
   */
  async #publish(digest: string, labels: Record<string, string>): Promise<void> {
    const { layout } = this.#host;
    const target = layout.blobPath(digest);
    if (lstatSync(target, { throwIfNoEntry: false }) !== undefined) {
      removeDirAtomic(this.#dir);
      throw alreadyExists(`content ${digest}`);
    }
    mkdirSync(layout.blobsDir, { recursive: true });
    const data = join(this.#dir, ingestFiles.data);
    // createdAt is the blob file's mtime, so stamp it with the commit time
    const now = Date.now() / 1000;
    const fd = this.#handle.fd;
    fchmodSync(fd, 0o444);
    futimesSync(fd, now, now);
    const createdAt = timestampFromNs(fstatSync(fd, { bigint: true }).mtimeNs);
    const labelsPath = layout.labelsPath(digest);
    // the labels sidecar is written and synced beside the blob's data, and renamed in once the blob is visible
    const [synced, staging] = await Promise.allSettled([
      this.#handle.sync(),
      Object.keys(labels).length > 0 ? stageFile(labelsPath, blobLabelsText({ labels, updatedAt: createdAt })) : undefined,
    ]);
    const staged = staging.status === "fulfilled" ? staging.value : undefined;
    try {
      if (synced.status === "rejected") throw synced.reason;
      if (staging.status === "rejected") throw staging.reason;
      this.#link(digest, data, target);
      await Promise.all([fsyncDir(layout.blobsDir), this.#closeHandle()]);
      // a sidecar left by an earlier blob of this digest (deleted mid-way) must not resurface
      await this.#host.labelQueue.run(digest, async () => (staged !== undefined ? placeStaged(staged) : removeBlobLabels(labelsPath)));
    } catch (error) {
      if (staged !== undefined) discardStaged(staged);
      throw error;
    }
    removeDirAtomic(this.#dir);
  }

  /** link(2) never replaces an existing blob, so a concurrent commit elsewhere shows as AlreadyExists. */
  #link(digest: string, data: string, target: string): void {
    try {
      linkSync(data, target);
    } catch (error) {
      const code = errnoCode(error);
      if (code === "EEXIST") {
        removeDirAtomic(this.#dir);
        throw alreadyExists(`content ${digest}`);
      }
      if (code === undefined || !noLinkCodes.has(code)) {
        try {
          chmodSync(data, 0o644);
        } catch {
          // the ingest stays usable for reading either way
        }
        throw error;
      }
      renameSync(data, target);
    }
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
