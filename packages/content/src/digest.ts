import { createHash } from "node:crypto";

/** The sha256 digest of `data` (strings are hashed as UTF-8), as `sha256:<hex>`. */
export function digestOf(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** The sha256 digest and byte count of a stream of chunks (a Node Readable works too). */
export async function digestOfStream(source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<{ digest: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { digest: `sha256:${hash.digest("hex")}`, size };
}

/** The hex part of a validated digest; doubles as its file name. */
export function hexOf(digest: string): string {
  return digest.slice("sha256:".length);
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
