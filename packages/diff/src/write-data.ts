/** Writing a file's data: batches of chunks with writev, and sparse files region by region. */
import type { FileHandle } from "node:fs/promises";
import { errorOfKind } from "@berth/api";
import type { SparseLayout, SparseRegion } from "./sparse.js";

// Bytes of a file's data gathered before one writev.
export const WRITE_BATCH = 1 << 20;

/**
 * A sparse file's data written at its regions' offsets, and its size set: the holes are never
 * written, so they take no blocks (containerd writes them as zeros).
 */
export async function writeSparse(file: FileHandle, body: AsyncIterable<Buffer>, layout: SparseLayout): Promise<void> {
  const regions = layout.regions.filter((region) => region.length > 0);
  let index = 0;
  // Bytes of regions[index] already taken from the body.
  let taken = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let position = 0;
  const flush = async () => {
    if (pendingBytes > 0) await writeAll(file, pending, position);
    position += pendingBytes;
    pending = [];
    pendingBytes = 0;
  };
  for await (let chunk of body) {
    while (chunk.length > 0) {
      // The reader checked that the body is exactly the regions' bytes.
      const region = regions[index] as SparseRegion;
      if (taken === 0) {
        await flush();
        position = region.offset;
      }
      const piece = chunk.subarray(0, region.length - taken);
      pending.push(piece);
      pendingBytes += piece.length;
      taken += piece.length;
      chunk = chunk.subarray(piece.length);
      if (taken === region.length) {
        index++;
        taken = 0;
      }
      if (pendingBytes >= WRITE_BATCH) await flush();
    }
  }
  await flush();
  await file.truncate(layout.size);
}

/** writev of all `chunks` (at `position`, else at the file's offset), again for what a short write left. */
export async function writeAll(file: FileHandle, chunks: Buffer[], position: number | null = null): Promise<void> {
  let left = chunks;
  let at = position;
  while (left.length > 0) {
    let { bytesWritten } = await file.writev(left, at ?? undefined);
    if (bytesWritten === 0) throw errorOfKind("Unknown", "writev wrote nothing");
    if (at !== null) at += bytesWritten;
    while (left.length > 0 && bytesWritten >= (left[0] as Buffer).length) {
      bytesWritten -= (left[0] as Buffer).length;
      left = left.slice(1);
    }
    if (bytesWritten > 0) left = [(left[0] as Buffer).subarray(bytesWritten), ...left.slice(1)];
  }
}
