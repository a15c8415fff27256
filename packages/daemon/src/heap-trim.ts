import { mallocTrim } from "@berth/libc";

// Applying a layer allocates and frees about its uncompressed size in buffers (zlib's output,
// file data). glibc keeps freed memory in its heaps, so a daemon's RSS after a pull stayed ~35 MB
// above what it uses; a trim (a few ms) gives it back.
const TRIM_AFTER_MS = 250;
let pending: NodeJS.Timeout | undefined;

/** Trims glibc's heaps once, shortly after the first call since the last trim: at most one trim per 250 ms. */
export function trimHeapSoon(): void {
  if (pending !== undefined) return;
  pending = setTimeout(() => {
    pending = undefined;
    try {
      mallocTrim();
    } catch {
      // Not glibc: nothing to give back this way.
    }
  }, TRIM_AFTER_MS);
  pending.unref();
}
