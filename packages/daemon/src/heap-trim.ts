import type { MethodObserver } from "@berth/api/services";
import { mallocTrim } from "@berth/libc";
import type { CallActivity } from "./call-activity.js";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// Applying a layer allocates and frees about its uncompressed size in buffers (zlib's output,
// file data), and a burst of calls its HTTP/2 sessions' buffers (~20 MB after 1,000 calls, 50 at
// a time). glibc keeps freed memory in its heaps, so the daemon's RSS stayed that far above what it
// uses; a trim (a few ms; 0.04 ms when there is nothing to give back) returns it.
// Every apply and every pull runs inside a call (Diff.Apply, Transfer, the CRI's PullImage), so
// trimming once calls go quiet covers them too.
const TRIM_AFTER_MS = 250;
/** How long after a collection and trim the second one comes (see `#trim`). */
const SECOND_TRIM_AFTER_MS = 1_000;

// A pull also leaves tens of MB of buffers that V8 has not collected yet (nothing allocates once the
// daemon is quiet, so nothing makes it); for glibc their memory is still in use, and after a 60 MB
// pull ~36 MB stayed in its heap through the trim. So once a call that moves layer or blob data has
// finished, the trim comes after a full collection (10–60 ms, once, on a quiet daemon), and none
// comes while such a call is still running.

/** The calls that move layer and blob data through buffers: pulls, layer applies, content writes. */
const dataCalls = new Set([
  "containerd.services.transfer.v1.Transfer/Transfer",
  "containerd.services.diff.v1.Diff/Apply",
  "containerd.services.content.v1.Content/Write",
  "runtime.v1.ImageService/PullImage",
]);

let collectGarbage: (() => void) | undefined;

function fullCollection(): void {
  if (collectGarbage === undefined) {
    // V8's gc() without starting Node with --expose-gc: the flag applies to contexts made after it.
    setFlagsFromString("--expose-gc");
    collectGarbage = runInNewContext("gc") as () => void;
  }
  collectGarbage();
}

function trimMallocHeaps(): void {
  try {
    mallocTrim();
  } catch {
    // Not glibc: nothing to give back this way.
  }
}

/**
 * Trims glibc's heaps once no call has started or ended for 250 ms and no pull, apply or content
 * write is running (after a full collection if such a call finished since the last trim, and then
 * once more a second later). Under steady load this costs one timer per 250 ms and no trim; an
 * idle daemon has no timer at all.
 */
export class HeapTrim {
  #dataCallsRunning = 0;
  /** Full collections still to come before trims: two after each pull, apply or content write. */
  #collectionsDue = 0;
  #quietCheck: NodeJS.Timeout | undefined;

  constructor(private readonly calls: CallActivity) {}

  /** The hooks that watch the calls of `service`'s `method`, for a call observer. */
  watch(service: string, method: string): Pick<MethodObserver, "started" | "finished"> {
    if (!dataCalls.has(`${service}/${method}`)) return { finished: () => this.#finished() };
    return {
      started: () => void this.#dataCallsRunning++,
      finished: () => {
        this.#dataCallsRunning--;
        this.#collectionsDue = 2;
        this.#finished();
      },
    };
  }

  #finished(): void {
    if (this.#quietCheck === undefined) this.#checkIn(TRIM_AFTER_MS);
  }

  #checkIn(ms: number): void {
    this.#quietCheck = setTimeout(() => {
      this.#quietCheck = undefined;
      const left = TRIM_AFTER_MS - this.calls.quietFor();
      if (this.#dataCallsRunning > 0) this.#checkIn(TRIM_AFTER_MS);
      else if (left > 0) this.#checkIn(left);
      else this.#trim();
    }, ms);
    this.#quietCheck.unref();
  }

  #trim(): void {
    if (this.#collectionsDue > 0) {
      fullCollection();
      // V8 can free the memory of collected ArrayBuffers on a background thread, which on a loaded
      // machine may come after this trim (once in CI a pull's memory stayed in the heap). One more
      // collection and trim a second later, once calls are quiet again, gives that back too.
      if (--this.#collectionsDue > 0) this.#checkIn(SECOND_TRIM_AFTER_MS);
    }
    trimMallocHeaps();
  }
}
