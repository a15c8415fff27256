/**
 * applyLayer: the diff service's Apply on a plain directory. Decompresses by magic bytes, extracts
 * the tar with whiteouts, and returns the digest and size of the uncompressed stream (the diff ID),
 * read to its very end, bytes after the end-of-archive marker included.
 */
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { errorOfKind, invalidArgument, notImplemented } from "@berth/api";
import { ByteReader } from "./byte-reader.js";
import { type ByteStream, openDecompressed } from "./compression.js";
import { LayerWriter } from "./extract.js";
import { readTar } from "./tar-reader.js";

export interface ApplyOptions {
  /** The layer's media type; only used to refuse what is clearly not a (decryptable) layer. */
  mediaType?: string;
  signal?: AbortSignal;
  /**
   * Makes `root` the upper directory of an overlay over these lower directories (uppermost
   * first): whiteouts are written in overlayfs's form, missing parents copy the lowers' attributes.
   */
  overlayLowerdirs?: readonly string[];
}

export interface AppliedLayer {
  /** `sha256:<hex>` of the uncompressed tar: the layer's diff ID. */
  digest: string;
  /** Bytes in the uncompressed tar. */
  size: number;
}

export async function applyLayer(stream: ByteStream, root: string, options: ApplyOptions = {}): Promise<AppliedLayer> {
  checkMediaType(options.mediaType);
  const signal = options.signal;
  throwIfAborted(signal);
  const rootPath = resolve(root);
  if (!(await stat(rootPath).catch(() => undefined))?.isDirectory()) {
    throw invalidArgument(`apply: ${JSON.stringify(root)} is not a directory`);
  }

  const { bytes } = await openDecompressed(stream);
  const hash = createHash("sha256");
  let size = 0;
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const chunk of bytes) {
      throwIfAborted(signal);
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  }

  const reader = new ByteReader(hashed());
  const writer = new LayerWriter(rootPath, options.overlayLowerdirs);
  try {
    for await (const entry of readTar(reader)) {
      throwIfAborted(signal);
      await writer.write(entry);
    }
    await writer.finish();
    await reader.drain();
  } catch (error) {
    // Nothing may still be writing once the caller hears of the failure (and unmounts).
    await writer.settle().catch(() => {});
    await reader.close().catch(() => {});
    throw error;
  }
  return { digest: `sha256:${hash.digest("hex")}`, size };
}

/**
 * containerd picks a stream processor by media type and fails without one; the codec itself is
 * sniffed. We accept anything that looks like a tar layer and refuse encrypted or non-layer types.
 */
function checkMediaType(mediaType: string | undefined): void {
  if (mediaType === undefined || mediaType === "") return;
  const lower = mediaType.toLowerCase();
  if (lower.includes("+encrypted") || !(lower.includes("tar") || lower.includes("layer"))) {
    throw notImplemented(`failed to get stream processor for ${mediaType}: no processor for media-type`);
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw errorOfKind("Canceled", "apply canceled", { cause: signal.reason });
}
