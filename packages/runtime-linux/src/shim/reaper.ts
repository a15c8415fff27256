import { type Timestamp, nowTimestamp } from "@berth/api";
import { becomeChildSubreaper, exitStatusOf, peekExitedChild, reapIfExited } from "./libc.js";
import type { SpawnTracker } from "./runc.js";

/** How a process ended: containerd's exit status (code, or 128 + signal) and when it was reaped. */
export interface Exit {
  readonly status: number;
  readonly exitedAt: Timestamp;
}

const pollIntervalMs = 2_000;
/** 255: containerd's "unknown" exit status, for a process that was not ours to reap. */
const unknownStatus = 255;

/**
 * Reaps the shim's orphaned children (container inits and exec processes, reparented to the
 * shim once runc exits) and reports their exits to whoever watches their pid.
 *
 * Never waitpid(-1): Node reaps the children it spawned (runc) with waitpid(pid) and would lose
 * their exit status. Exits are found on SIGCHLD and by a slow poll: watched pids are waited for
 * directly, and other zombies are found with waitid(WNOWAIT) and reaped unless Node spawned
 * them. Their exits are kept only while a launch holds them (an exec may end before its pid
 * file is read), then dropped: pids come back quickly, and a stale exit would end a new process.
 */
export class Reaper implements SpawnTracker {
  readonly #watchers = new Map<number, (exit: Exit) => void>();
  readonly #unclaimed = new Map<number, Exit>();
  #holds = 0;
  readonly #spawned = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  readonly #onSignal = () => this.sweep();

  start(): void {
    becomeChildSubreaper();
    process.on("SIGCHLD", this.#onSignal);
    this.#timer = setInterval(() => this.sweep(), pollIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    process.off("SIGCHLD", this.#onSignal);
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
  }

  spawned(pid: number): void {
    this.#spawned.add(pid);
  }

  finished(pid: number): void {
    this.#spawned.delete(pid);
    // Zombies found behind this one while it was still Node's to reap.
    this.#scheduleRetry();
  }

  /**
   * Keeps the exits of pids nobody watches yet until the returned release is called: for a
   * process whose pid is learnt only after it started (and may already have ended).
   */
  holdExits(): () => void {
    this.#holds += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds -= 1;
      if (this.#holds === 0) this.#unclaimed.clear();
    };
  }

  /** Resolves when `pid` exits (at once if it was already reaped under a hold). */
  watch(pid: number): Promise<Exit> {
    const early = this.#unclaimed.get(pid);
    if (early !== undefined) {
      this.#unclaimed.delete(pid);
      return Promise.resolve(early);
    }
    return new Promise((resolve) => {
      this.#watchers.set(pid, resolve);
      this.#reapWatched(pid);
    });
  }

  sweep(): void {
    for (const pid of [...this.#watchers.keys()]) this.#reapWatched(pid);
    for (;;) {
      const pid = peekExitedChild();
      if (pid <= 0) break;
      if (this.#spawned.has(pid)) {
        this.#scheduleRetry();
        break;
      }
      const status = reapIfExited(pid);
      if (status === undefined || status === null) break;
      this.#deliver(pid, { status: exitStatusOf(status), exitedAt: nowTimestamp() });
    }
  }

  #reapWatched(pid: number): void {
    const status = reapIfExited(pid);
    if (status === undefined) return;
    if (status === null) {
      // Not our child: alive (nothing to do yet) or gone without a status we could read.
      if (isAlive(pid)) return;
      this.#deliver(pid, { status: unknownStatus, exitedAt: nowTimestamp() });
      return;
    }
    this.#deliver(pid, { status: exitStatusOf(status), exitedAt: nowTimestamp() });
  }

  #deliver(pid: number, exit: Exit): void {
    const watcher = this.#watchers.get(pid);
    if (watcher === undefined) {
      if (this.#holds > 0) this.#unclaimed.set(pid, exit);
      return;
    }
    this.#watchers.delete(pid);
    watcher(exit);
  }

  #scheduleRetry(): void {
    if (this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.sweep();
    }, 20);
    this.#retry.unref();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
