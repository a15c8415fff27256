import type { CallContext } from "./context.js";
import { invalidArgument } from "./errors.js";
import type { Timestamp } from "./timestamps.js";

/** A committed blob. */
export interface ContentInfo {
  readonly digest: string;
  readonly size: number;
  readonly createdAt: Timestamp;
  readonly updatedAt: Timestamp;
  readonly labels: Readonly<Record<string, string>>;
}

/** An ingest in progress, named by the writer's ref. */
export interface IngestStatus {
  readonly ref: string;
  /** Bytes written so far. */
  readonly offset: number;
  /** Expected size; 0 when unknown. */
  readonly total: number;
  /** Expected digest; "" when unknown. */
  readonly expected: string;
  readonly startedAt: Timestamp;
  readonly updatedAt: Timestamp;
}

export interface WriterOptions {
  /** Names the ingest; required, any non-empty string. */
  readonly ref: string;
  /** Expected size (0: unknown). */
  readonly total?: number;
  /** Expected digest (empty: unknown). */
  readonly expected?: string;
}

/**
 * One ingest, held exclusively by this writer until `close` or `commit`. Bytes are appended at
 * the current offset; a restart from 0 truncates. The ingest outlives the writer (and the process)
 * until committed or aborted, so a later writer of the same ref resumes at its offset.
 */
export interface ContentWriter {
  readonly ref: string;
  status(): Promise<IngestStatus>;
  /** The digest of the bytes written so far. */
  digest(): Promise<string>;
  /** Appends `data`; OutOfRange unless `offset` (when given) is the current offset or 0 (restart). */
  write(data: Uint8Array, offset?: number): Promise<void>;
  truncate(size: number): Promise<void>;
  /**
   * Verifies and commits: FailedPrecondition (and nothing committed) when `size` > 0 differs from
   * the bytes written or `expected` from their digest; AlreadyExists when the blob is present.
   * The blob becomes visible atomically and durably (fsync, then rename). Ends the writer.
   */
  commit(size: number, expected: string, labels?: Readonly<Record<string, string>>): Promise<void>;
  /** Releases the ref, keeping the ingest for a later writer. */
  close(): Promise<void>;
}

/**
 * A content-addressed store of immutable blobs, and the ingests that become them.
 *
 * - Digests are `sha256:<64 lowercase hex>`; any other string is InvalidArgument.
 * - `info`, `read`, `delete`, `update`: NotFound for a blob the caller cannot see.
 * - `read`: OutOfRange when `offset` > size; `length` 0 (or past the end) reads to the end.
 * - `update`: fieldpaths are `labels` or `labels.<key>` (else InvalidArgument); none replaces
 *   all labels; an empty value removes a label; labels obey containerd's 4096-byte rule.
 * - `writer`: Unavailable while another writer holds the ref; AlreadyExists when `expected` is
 *   already committed (visible to the caller).
 * - `status`/`abort`: NotFound for an unknown ref.
 * - `list`/`listStatuses` take containerd filters (several are OR'ed): `digest`, `labels.<key>`
 *   for blobs; `ref` for ingests.
 * Implementations may be namespaced by `context` (the daemon's) or not (the local store).
 */
export interface ContentStore {
  info(context: CallContext, digest: string): Promise<ContentInfo>;
  update(context: CallContext, info: Pick<ContentInfo, "digest" | "labels">, fieldpaths: readonly string[]): Promise<ContentInfo>;
  list(context: CallContext, filters: readonly string[]): AsyncIterable<ContentInfo>;
  delete(context: CallContext, digest: string): Promise<void>;
  /** Streams the blob from `offset`, `length` bytes (0: to the end), in chunks of at most 1 MiB. */
  read(context: CallContext, digest: string, offset?: number, length?: number): AsyncIterable<Uint8Array>;
  writer(context: CallContext, options: WriterOptions): Promise<ContentWriter>;
  status(context: CallContext, ref: string): Promise<IngestStatus>;
  listStatuses(context: CallContext, filters: readonly string[]): Promise<IngestStatus[]>;
  abort(context: CallContext, ref: string): Promise<void>;
}

const digestPattern = /^sha256:[0-9a-f]{64}$/;

/** Checks a digest string; InvalidArgument naming `field` otherwise. */
export function validateDigest(digest: string, field = "digest"): void {
  if (!digestPattern.test(digest)) throw invalidArgument(`${field}: invalid digest ${JSON.stringify(digest)}: want sha256:<64 lowercase hex>`);
}
