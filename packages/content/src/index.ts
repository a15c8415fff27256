/**
 * @berth/content: a local, content-addressed blob store implementing `ContentStore` from
 * @berth/api, with resumable, digest-verified, atomic ingests. The conformance suite any
 * `ContentStore` must pass is `@berth/content/testsuite`.
 */
export { LocalContentStore } from "./local-store.js";
export { digestOf, digestOfStream } from "./digest.js";
export type { BlobDescriptor, WriteBlobOptions } from "./blob-io.js";
export { readBlob, writeBlob } from "./blob-io.js";
