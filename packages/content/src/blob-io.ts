import { type CallContext, type ContentStore, isKind } from "@berth/api";
import { digestOf } from "./digest.js";

const chunkSize = 1 << 20;

export interface BlobDescriptor {
  readonly digest: string;
  readonly size: number;
}

export interface WriteBlobOptions {
  /** The digest `data` must have; computed from `data` when absent. */
  readonly expected?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Stores `data` through any ContentStore, as containerd's `content.WriteBlob` does: a blob that is
 * already there counts as written (its labels are left alone), and an earlier ingest of `ref` is
 * resumed when its bytes are a prefix of `data`, else restarted.
 */
export async function writeBlob(
  store: ContentStore,
  context: CallContext,
  ref: string,
  data: Uint8Array,
  options: WriteBlobOptions = {},
): Promise<BlobDescriptor> {
  const descriptor = { digest: options.expected ?? digestOf(data), size: data.byteLength };
  let writer;
  try {
    writer = await store.writer(context, { ref, total: descriptor.size, expected: descriptor.digest });
  } catch (error) {
    if (isKind(error, "AlreadyExists")) return descriptor;
    throw error;
  }
  try {
    const { offset: resumed } = await writer.status();
    const usable = resumed > 0 && resumed <= data.byteLength && (await writer.digest()) === digestOf(data.subarray(0, resumed));
    let offset = usable ? resumed : 0;
    if (offset === 0 && data.byteLength === 0 && resumed > 0) await writer.write(data, 0);
    while (offset < data.byteLength) {
      const chunk = data.subarray(offset, offset + chunkSize);
      // offset 0 restarts an ingest whose bytes we cannot use
      await writer.write(chunk, offset);
      offset += chunk.byteLength;
    }
    await writer.commit(descriptor.size, descriptor.digest, options.labels);
  } catch (error) {
    await writer.close().catch(() => undefined);
    if (isKind(error, "AlreadyExists")) return descriptor;
    throw error;
  }
  return descriptor;
}

/** The whole blob (or `length` bytes from `offset`) in one buffer. */
export async function readBlob(store: ContentStore, context: CallContext, digest: string, offset = 0, length = 0): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of store.read(context, digest, offset, length)) chunks.push(chunk);
  return Buffer.concat(chunks);
}
