import { mallocTrim } from "@berth/libc";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// Applying a layer allocates and frees about its uncompressed size in buffers (zlib's output,
// file data), and a burst of calls its HTTP/2 sessions' buffers (~20 MB after 1,000 calls, 50 at
// a time). glibc keeps freed memory in its heaps, so the daemon's RSS stayed that far above what it
// uses; a trim (a few ms; 0.04 ms when there is nothing to give back) returns it.
// Every apply and every pull runs inside a call (Diff.Apply, Transfer, the CRI's PullImage), so
// trimming once calls go quiet covers them too.
const TRIM_AFTER_MS = 250;

// A pull leaves tens of MB of buffers that V8 has not collected yet (nothing allocates once the
// daemon is quiet, so nothing makes it), and their memory is still in use for glibc: after a 60 MB
// pull ~36 MB stayed in its heap through the trim. So after a call that moves layer or blob data,
// when buffers grew by more than this since the last collection, a full collection (10–60 ms,
// once, on a quiet daemon) frees them before the trim.
const COLLECT_ABOVE_BYTES = 16 << 20;

/** The calls that move layer and blob data through buffers: pulls, layer applies, content writes. */
const dataCalls = new Set([
  "containerd.services.transfer.v1.Transfer/Transfer",
  "containerd.services.diff.v1.Diff/Apply",
  "containerd.services.content.v1.Content/Write",
  "runtime.v1.ImageService/PullImage",
]);

/** Whether calls of `service`'s `method` move layer or blob data (see `trimHeapWhenQuiet`). */
export function movesData(service: string, method: string): boolean {
  return dataCalls.has(`${service}/${method}`);
}

let collectGarbage: (() => void) | undefined;

function fullCollection(): void {
  if (collectGarbage === undefined) {
    // V8's gc() without starting Node with --expose-gc: the flag applies to contexts made after it.
    setFlagsFromString("--expose-gc");
    collectGarbage = runInNewContext("gc") as () => void;
  }
  collectGarbage();
}

const externalBytes = () => getHeapStatistics().external_memory;
let externalAfterCollection = externalBytes();
let dataMoved = false;

function trim(): void {
  if (dataMoved && externalBytes() - externalAfterCollection > COLLECT_ABOVE_BYTES) {
    fullCollection();
    externalAfterCollection = externalBytes();
  }
  dataMoved = false;
  try {
    mallocTrim();
  } catch {
    // Not glibc: nothing to give back this way.
  }
}

let calls = 0;
let quietCheck: NodeJS.Timeout | undefined;

/**
 * Counts a finished call (`movedData`: one that `movesData`); once 250 ms pass with no other, trims
 * glibc's heaps, collecting garbage first if data moved and buffers grew a lot. Under steady load
 * this costs one timer per 250 ms and no trim; an idle daemon has no timer at all.
 */
export function trimHeapWhenQuiet(movedData = false): void {
  calls++;
  if (movedData) dataMoved = true;
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
