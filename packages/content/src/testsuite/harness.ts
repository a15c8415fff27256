import { type CallContext, type ContentInfo, type ContentStore, type ContentWriter, type Timestamp, type WriterOptions } from "@berth/api";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { expect } from "vitest";

/** What `create` hands the suite: a store that is empty and used by this one test. */
export interface ContentStoreUnderTest {
  readonly store: ContentStore;
  /** The context every call is made with (e.g. carrying the namespace). */
  readonly context: CallContext;
  close(): Promise<void>;
}

export const MiB = 1 << 20;

/**
 * Fresh random bytes for every blob: a store reached over gRPC may share blob bytes between
 * namespaces, so fixed contents could meet a blob another test committed.
 */
export function randomData(size: number): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

export function sha256(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** Compares by size and digest: as strict as byte-wise, much faster on MiBs, and a readable failure. */
export function expectBytes(actual: Uint8Array, expected: Uint8Array, what = "bytes read"): void {
  expect({ size: actual.byteLength, digest: sha256(actual) }, what).toEqual({ size: expected.byteLength, digest: sha256(expected) });
}

export function uniqueRef(what: string): string {
  return `conformance-${what}-${randomUUID()}`;
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks));
}

export function timestampMs(ts: Timestamp): number {
  return ts.seconds * 1000 + ts.nanos / 1e6;
}

export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  return a.seconds - b.seconds || a.nanos - b.nanos;
}

export async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** One test's view of the store: calls with its context, and writers closed when the test ends. */
export class Harness {
  readonly #writers: ContentWriter[] = [];

  constructor(
    readonly store: ContentStore,
    readonly context: CallContext,
  ) {}

  async writer(options: WriterOptions): Promise<ContentWriter> {
    const writer = await this.store.writer(this.context, options);
    this.#writers.push(writer);
    return writer;
  }

  /** Writes `data` in chunks of at most 1 MiB at explicit offsets and commits it; returns its digest. */
  async commit(data: Uint8Array, labels: Record<string, string> = {}, ref = uniqueRef("blob")): Promise<string> {
    const digest = sha256(data);
    const writer = await this.writer({ ref, total: data.byteLength, expected: digest });
    await writeAll(writer, data, 0);
    await writer.commit(data.byteLength, digest, labels);
    return digest;
  }

  info(digest: string): Promise<ContentInfo> {
    return this.store.info(this.context, digest);
  }

  chunks(digest: string, offset?: number, length?: number): Promise<Uint8Array[]> {
    return drain(this.store.read(this.context, digest, offset, length));
  }

  async read(digest: string, offset?: number, length?: number): Promise<Uint8Array> {
    return concat(await this.chunks(digest, offset, length));
  }

  list(filters: readonly string[]): Promise<ContentInfo[]> {
    return drain(this.store.list(this.context, filters));
  }

  async listDigests(filters: readonly string[]): Promise<string[]> {
    return (await this.list(filters)).map((info) => info.digest).sort();
  }

  async cleanup(): Promise<void> {
    for (const writer of this.#writers.splice(0)) await writer.close().catch(() => undefined);
  }
}

/** Writes `data` from `offset` on, in chunks of at most 1 MiB, each at its explicit offset. */
export async function writeAll(writer: ContentWriter, data: Uint8Array, offset: number, chunkSize = MiB): Promise<void> {
  for (let position = 0; position < data.byteLength; position += chunkSize) {
    await writer.write(data.subarray(position, position + chunkSize), offset + position);
  }
}
