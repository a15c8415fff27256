import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { constants, getPriority, setPriority } from "node:os";
import type { Socket } from "node:net";
import { serverArguments, type ShimFlags } from "./flags.js";
import { type Handover, commandLineRoom, spareAction } from "./handover.js";
import { berthShimPath } from "./paths.js";
import { type Launcher, serverEnv, serverNodeOptions, serverReady } from "./start.js";

export interface SpareShimOptions {
  /** How many spares to keep started (at least 1). */
  readonly count: number;
  /** The daemon's gRPC socket (`-address`: what a spare is known by, as any of the daemon's shims). */
  readonly address: string;
  /** The environment of every server: the daemon's, `TTRPC_ADDRESS`, `NODE_COMPILE_CACHE`. */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * A spare boots at the lowest CPU priority, so that its ~50 ms of a core is only what the task just
 * created (its Start, its output, the client's next calls) leaves; the next spare starts at once
 * after an adoption, ready for a burst of new groups (a kubelet's pods). Its threads get the daemon's
 * priority back when it is adopted.
 */
const sparePriority = constants.priority.PRIORITY_LOW;

/** Sets the CPU priority of every thread of `pid` (Linux's setpriority reaches one thread); one that has ended is skipped. */
function setThreadsPriority(pid: number, priority: number): void {
  let threads: string[] = [];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    // The spare has gone: its adoption or its exit handler says so.
  }
  for (const thread of threads) {
    try {
      setPriority(Number(thread), priority);
    } catch {
      // The thread ended meanwhile.
    }
  }
}

/**
 * Berth's shim servers started ahead of need: Node booted and the server's code loaded (some 55 ms
 * of a namespace's first task), waiting on descriptor 3 for whom to serve. A spare serves nothing,
 * holds no socket, namespace or cgroup, and is nobody's task; it exits when the daemon does, dies,
 * or closes its end.
 */
export class SpareShims {
  readonly #spares = new Set<ChildProcess>();
  #refill: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(private readonly options: SpareShimOptions) {
    this.#schedule(0);
  }

  /** A spare, if one is running; the next is started a little later. */
  take(): ChildProcess | undefined {
    const [spare] = [...this.#spares].filter((child) => child.exitCode === null && child.signalCode === null);
    if (spare === undefined) return undefined;
    this.#spares.delete(spare);
    this.#schedule(0);
    return spare;
  }

  /** Ends every spare (the daemon is closing). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#refill);
    for (const spare of this.#spares) spare.kill("SIGKILL");
    this.#spares.clear();
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#refill);
    this.#refill = setTimeout(() => this.#fill(), delayMs);
    this.#refill.unref();
  }

  #fill(): void {
    while (!this.#closed && this.#spares.size < this.options.count) {
      const spare = spawn(process.execPath, [...serverNodeOptions, berthShimPath, "-address", this.options.address, spareAction, commandLineRoom], {
        cwd: "/",
        detached: true,
        stdio: ["ignore", "ignore", "ignore", "pipe"],
        env: serverEnv(this.options.env),
      });
      this.#spares.add(spare);
      // Its threads so far (likely only the first; those it starts later inherit the priority).
      if (spare.pid !== undefined) setThreadsPriority(spare.pid, sparePriority);
      const forget = () => this.#spares.delete(spare);
      spare.once("exit", forget);
      spare.once("error", forget);
      // A spare keeps no process alive: not the daemon, nor a program that opened a manager and forgot to close it.
      spare.unref();
      (spare.stdio[3] as Socket).unref();
    }
  }
}

/**
 * Hands a spare over: the server `launchServer` would have started, in the bundle. "gone" when
 * the spare had died meanwhile (the caller starts a server as usual); a failure kills it.
 */
export function adoptSpare(spare: ChildProcess, flags: ShimFlags, socket: string, shimCgroup: string, launcher: Launcher): Promise<"ready" | "gone"> {
  spare.removeAllListeners();
  // A server runs at the daemon's priority, as one it launches does.
  if (spare.pid !== undefined) setThreadsPriority(spare.pid, getPriority());
  spare.ref();
  const word = spare.stdio[3] as Socket;
  word.ref();
  const handover: Handover = { args: serverArguments(flags, socket, shimCgroup), cwd: launcher.cwd };
  const ready = serverReady(spare, launcher.daemonPid, "gone");
  word.write(`${JSON.stringify(handover)}\n`);
  return ready;
}
