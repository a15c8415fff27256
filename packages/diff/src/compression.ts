/**
 * Layer compression: sniffing gzip/zstd by magic bytes (as containerd's compression.DecompressStream
 * does, whatever the media type says) and (de)compressing streams with Node's zlib.
 */
import { Readable, type Transform, pipeline } from "node:stream";
import zlib from "node:zlib";
import { errorOfKind } from "@berth/api";

export type Compression = "gzip" | "zstd" | "none";

const DECOMPRESSED_CHUNK = 256 * 1024;

/** Any byte stream the package accepts: an (async) iterable of byte chunks, such as `[buffer]`, or a Node readable. */
export type ByteStream = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | NodeJS.ReadableStream;

/** The compression `head` (the first bytes of a blob, at least 4 when available) starts with. */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return "gzip";
  if (head.length >= 4) {
    const magic = ((head[3] ?? 0) << 24) | ((head[2] ?? 0) << 16) | ((head[1] ?? 0) << 8) | (head[0] ?? 0);
    if (magic >>> 0 === 0xfd2fb528) return "zstd";
    // A zstd stream may start with a skippable frame (0x184D2A50–0x184D2A5F).
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) return "zstd";
  }
  return "none";
}

/** Normalises chunks to Buffers (a Node readable in string mode yields strings). */
export async function* bytesOf(stream: ByteStream): AsyncGenerator<Buffer> {
  for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
    if (typeof chunk === "string") yield Buffer.from(chunk);
    else if (chunk.byteLength > 0) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

/**
 * The decompressed bytes of `stream`, the codec chosen from its first bytes; also tells which.
 * Trailing bytes after a compressed stream are zlib's business: gzip members are concatenated.
 */
export async function openDecompressed(stream: ByteStream): Promise<{ compression: Compression; bytes: AsyncIterable<Buffer> }> {
  const it = bytesOf(stream)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < 4) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    headLength += next.value.length;
  }
  const compression = detectCompression(Buffer.concat(head));
  async function* replay(): AsyncGenerator<Buffer> {
    yield* head;
    if (ended) return;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  }
  if (compression === "none") return { compression, bytes: replay() };
  // zlib's default 16 KiB output chunks cost a threadpool round trip and a stream callback each.
  const options = { chunkSize: DECOMPRESSED_CHUNK };
  const codec = compression === "gzip" ? zlib.createGunzip(options) : zlib.createZstdDecompress(options);
  return { compression, bytes: throughCodec(replay(), codec, `invalid ${compression} stream`) };
}

/** `stream` decompressed if it is gzip or zstd, else as is. */
export async function* decompressStream(stream: ByteStream): AsyncGenerator<Buffer> {
  const { bytes } = await openDecompressed(stream);
  yield* bytes;
}

/** `stream` compressed with gzip or zstd. */
export function compressStream(stream: ByteStream, compression: "gzip" | "zstd"): AsyncIterable<Buffer> {
  const codec = compression === "gzip" ? zlib.createGzip() : zlib.createZstdCompress();
  return throughCodec(bytesOf(stream), codec, `${compression} compression failed`);
}

async function* throughCodec(source: AsyncIterable<Buffer>, codec: Transform, what: string): AsyncGenerator<Buffer> {
  const input = Readable.from(source, { objectMode: false });
  // Errors on either side destroy the codec, which ends the iteration below with that error.
  pipeline(input, codec, () => {});
  try {
    for await (const chunk of codec as AsyncIterable<Buffer>) yield chunk;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // zlib's own data errors mean a corrupt blob; anything else (the source's) passes through.
    if (typeof code === "string" && (code.startsWith("Z_") || code.startsWith("ZSTD_"))) {
      throw errorOfKind("InvalidArgument", `${what}: ${(error as Error).message}`, { cause: error });
    }
    throw error;
  } finally {
    input.destroy();
    codec.destroy();
  }
}
