import type { MethodObserver } from "@berth/api/services";
import { mallocTrim } from "@berth/libc";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// Applying a layer allocates and frees about its uncompressed size in buffers (zlib's output,
// file data), and a burst of calls its HTTP/2 sessions' buffers (~20 MB after 1,000 calls, 50 at
// a time). glibc keeps freed memory in its heaps, so the daemon's RSS stayed that far above what it
// uses; a trim (a few ms; 0.04 ms when there is nothing to give back) returns it.
// Every apply and every pull runs inside a call (Diff.Apply, Transfer, the CRI's PullImage), so
// trimming once calls go quiet covers them too.
const TRIM_AFTER_MS = 250;

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

let calls = 0;
let dataCallsRunning = 0;
let dataMoved = false;
let quietCheck: NodeJS.Timeout | undefined;

function trim(): void {
  if (dataMoved) fullCollection();
  dataMoved = false;
  try {
    mallocTrim();
  } catch {
    // Not glibc: nothing to give back this way.
  }
}

function watchForQuiet(seen: number): void {
  quietCheck = setTimeout(() => {
    quietCheck = undefined;
    if (calls !== seen || dataCallsRunning > 0) watchForQuiet(calls);
    else trim();
  }, TRIM_AFTER_MS);
  quietCheck.unref();
}

function finished(): void {
  calls++;
  if (quietCheck === undefined) watchForQuiet(calls);
}

function dataCallFinished(): void {
  dataCallsRunning--;
  dataMoved = true;
  finished();
}

/**
 * Watches the calls of `service`'s `method` for the heap trim: once 250 ms pass with no call
 * finished and no pull, apply or content write running, glibc's heaps are trimmed (after a full
 * collection if such a call finished since the last trim). Under steady load this costs one timer
 * per 250 ms and no trim; an idle daemon has no timer at all.
 */
export function heapTrimWatch(service: string, method: string): Pick<MethodObserver, "started" | "finished"> {
  if (!dataCalls.has(`${service}/${method}`)) return { finished };
  return { started: () => void dataCallsRunning++, finished: dataCallFinished };
}
