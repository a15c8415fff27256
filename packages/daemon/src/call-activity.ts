import { setTimeout as sleep } from "node:timers/promises";

/** How long no call may start or end before background work counts the daemon as quiet. */
const QUIET_MS = 50;
/** How long background work waits for quiet at most: under steady calls it still runs this often. */
const MAX_WAIT_MS = 1_000;

export interface CallActivityOptions {
  readonly quietMs?: number;
  readonly maxWaitMs?: number;
  /** The clock, in milliseconds (performance.now by default). */
  readonly now?: () => number;
}

/**
 * When the daemon's calls last started or ended, so that work no caller waits for (the GC, the
 * removal of backend snapshots after Snapshots.Remove) runs in a pause between calls. containerd
 * runs that work on threads of its own; berthd has one, and a GC or a synced commit run there in
 * the middle of a client's calls (`ctr run --rm` makes ~40 in a row) holds up the call waiting
 * behind it. Under steady calls the work runs at most `maxWaitMs` late.
 */
export class CallActivity {
  readonly #quietMs: number;
  readonly #maxWaitMs: number;
  readonly #now: () => number;
  #last = Number.NEGATIVE_INFINITY;

  constructor(options: CallActivityOptions = {}) {
    this.#quietMs = options.quietMs ?? QUIET_MS;
    this.#maxWaitMs = options.maxWaitMs ?? MAX_WAIT_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** A call started or ended. */
  noteCall(): void {
    this.#last = this.#now();
  }

  /** Milliseconds since a call last started or ended (Infinity before the first). */
  quietFor(): number {
    return this.#now() - this.#last;
  }

  /**
   * How long from now work asked for at `askedAt` should still wait: until no call has started or
   * ended for `quietMs`, and never past `askedAt + maxWaitMs`. 0 means run now.
   */
  waitLeft(askedAt: number): number {
    const now = this.#now();
    const untilQuiet = this.#last + this.#quietMs - now;
    const untilDeadline = askedAt + this.#maxWaitMs - now;
    return Math.max(0, Math.min(untilQuiet, untilDeadline));
  }

  /**
   * Resolves once calls are quiet (see `waitLeft`). Its timer keeps the process up (`maxWaitMs` at
   * most), so that a daemon closing still finishes the work it awaits.
   */
  async quiet(): Promise<void> {
    const askedAt = this.#now();
    for (let wait = this.waitLeft(askedAt); wait > 0; wait = this.waitLeft(askedAt)) await sleep(wait);
  }
}
