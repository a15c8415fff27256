import { libc } from "./libc.js";

/**
 * Gives the free pages of glibc's heaps back to the kernel (`malloc_trim(0)`): buffers a burst of
 * I/O allocated and freed stay in the process's RSS otherwise. True when memory was released.
 */
export function mallocTrim(): boolean {
  return libc().malloc_trim(0) === 1;
}
