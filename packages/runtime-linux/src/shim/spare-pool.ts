import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { serverArguments, type ShimFlags } from "./flags.js";
import { type Handover, commandLineRoom, spareAction } from "./handover.js";
import { berthShimPath } from "./paths.js";
import { type Launcher, serverReady, spawnServer } from "./start.js";

export interface SpareShimOptions {
  /** How many spares to keep started (at least 1). */
  readonly count: number;
  /** The daemon's gRPC socket (`-address`: what a spare is known by, as any of the daemon's shims). */
  readonly address: string;
  /** The environment of every server: the daemon's, `TTRPC_ADDRESS`, `NODE_COMPILE_CACHE`. */
  readonly env: NodeJS.ProcessEnv;
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

  /** A spare, if one is running; the next one starts at once. */
  take(): ChildProcess | undefined {
    const [spare] = [...this.#spares].filter((child) => child.exitCode === null && child.signalCode === null);
    if (spare === undefined) return undefined;
    this.#spares.delete(spare);
    // The next one starts at once (off this call's stack): a burst of new groups, a kubelet's pods
    // one after another, then finds one booted each time, where a delay had every other one wait
    // for a Node shim to start; the task just created is none the slower for it (the bench's run rows).
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
      const spare = spawnServer(berthShimPath, ["-address", this.options.address, spareAction, commandLineRoom], "/", this.options.env);
      this.#spares.add(spare);
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
  spare.ref();
  const word = spare.stdio[3] as Socket;
  word.ref();
  const handover: Handover = { args: serverArguments(flags, socket, shimCgroup), cwd: launcher.cwd };
  const ready = serverReady(spare, launcher.daemonPid, "gone");
  word.write(`${JSON.stringify(handover)}\n`);
  return ready;
}
