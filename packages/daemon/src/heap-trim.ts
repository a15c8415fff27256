import { mallocTrim } from "@berth/libc";

// Applying a layer allocates and frees about its uncompressed size in buffers (zlib's output,
// file data), and a burst of calls its HTTP/2 sessions' buffers (~20 MB after 1,000 calls, 50 at
// a time). glibc keeps freed memory in its heaps, so the daemon's RSS stayed that far above what it
// uses; a trim (a few ms; 0.04 ms when there is nothing to give back) returns it.
// Every apply and every pull runs inside a call (Diff.Apply, Transfer, the CRI's PullImage), so
// trimming once calls go quiet covers them too.
const TRIM_AFTER_MS = 250;

function trim(): void {
  try {
    mallocTrim();
  } catch {
    // Not glibc: nothing to give back this way.
  }
}

let calls = 0;
let quietCheck: NodeJS.Timeout | undefined;

/**
 * Counts a finished call; once 250 ms pass with no other, trims glibc's heaps. Under steady load
 * this costs one timer per 250 ms and no trim; an idle daemon has no timer at all.
 */
export function trimHeapWhenQuiet(): void {
  calls++;
  if (quietCheck === undefined) watchForQuiet(calls);
}

function watchForQuiet(seen: number): void {
  quietCheck = setTimeout(() => {
    quietCheck = undefined;
    if (calls !== seen) watchForQuiet(calls);
    else trim();
  }, TRIM_AFTER_MS);
  quietCheck.unref();
}
