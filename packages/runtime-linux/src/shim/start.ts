import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import { dirname, join } from "node:path";
import { shimGroup, shimSocketPath, socketAnswers } from "./address.js";
import { type ShimFlags, serverArguments } from "./flags.js";
import { lockGroup, readyWord, releaseGroup } from "./group-lock.js";
import { shimCgroupOf } from "./start-options.js";

/**
 * How the long-running server runs: it serves many containers from one process, so its own size
 * matters; a small young generation will do. No `--lite-mode`: it saved ~4 MB more (56 instead of
 * 60 MB with 20 containers) but, as any flag V8 hashes, made Node reject its built-in code cache
 * and compile its own modules from source, ~35 ms of every namespace's first task. The server
 * turns the JIT off itself once it is ready (serve), which keeps most of lite mode's saving.
 */
const serverNodeOptions = ["--max-semi-space-size=2"];

/**
 * glibc keeps freed 64 KiB read buffers in its arenas, fragmented: after copying a few hundred MB
 * of output, ~45 MB stayed resident. Served from mmap instead, they go back to the system when
 * freed; the price is output throughput (~290 MB/s instead of ~410 MB/s here), memory being the goal.
 */
const serverEnvironment = { MALLOC_MMAP_THRESHOLD_: "32768" };

const readyTimeoutMs = 20_000;

/**
 * `start`: finds or launches the server of this container's group, records its address in the
 * bundle and returns it (containerd 1.6's plain `unix://…` form, printed on stdout). The server
 * outlives this process and the daemon; it runs detached, in a session of its own.
 */
export async function startCommand(flags: ShimFlags, script: string): Promise<string> {
  const bundle = process.cwd();
  const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as { annotations?: Record<string, string> };
  const shimCgroup = shimCgroupOf(await readStdin());
  const socket = shimSocketPath(flags.address, flags.namespace, shimGroup(spec.annotations, flags.namespace), shimCgroup);
  mkdirSync(dirname(socket), { recursive: true, mode: 0o711 });
  const address = `unix://${socket}`;
  // One `start` at a time per group, so that two containers created at once share one server;
  // a server about to exit takes the same lock (see serve).
  const lock = lockGroup(socket)!;
  try {
    if (!(await socketAnswers(socket))) {
      rmSync(socket, { force: true });
      await launchServer(flags, script, socket, shimCgroup);
    }
  } finally {
    releaseGroup(socket, lock);
  }
  writeFileSync(join(bundle, "address"), address);
  return address;
}

/** The runtime options containerd writes to `start`'s stdin (an encoded Any; empty without options). */
async function readStdin(): Promise<Uint8Array> {
  if (process.stdin.isTTY) return new Uint8Array();
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Where the server is launched from: `start` (its own directory and environment, the daemon its parent) or the daemon itself. */
export interface Launcher {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly daemonPid: number;
}

/**
 * Starts a server process (`script` with `args`): its own session, outliving its launcher; stdio
 * /dev/null, so that nothing it writes may fail once the launcher has gone; descriptor 3 a pipe
 * for its word (and a spare's handover).
 */
export function spawnServer(script: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [...serverNodeOptions, script, ...args], {
    cwd,
    detached: true,
    stdio: ["ignore", "ignore", "ignore", "pipe"],
    env: { ...env, ...serverEnvironment },
  });
}

/** Launches the server and waits for its word on descriptor 3: "ready", or why it failed. */
export async function launchServer(
  flags: ShimFlags,
  script: string,
  socket: string,
  shimCgroup: string,
  launcher: Launcher = { cwd: process.cwd(), env: process.env, daemonPid: process.ppid },
): Promise<void> {
  await serverReady(spawnServer(script, serverArguments(flags, socket, shimCgroup), launcher.cwd, launcher.env), launcher.daemonPid);
}

/**
 * Waits for a server's word on descriptor 3 and lets it go (it runs on without this process), or
 * kills it when it fails. "gone" when it exited without a word and `silentExit` says so (a spare
 * that died before its handover: the caller launches a server instead).
 */
export function serverReady(child: ChildProcess, daemonPid: number, silentExit: "fails" | "gone" = "fails"): Promise<"ready" | "gone"> {
  return new Promise((resolve, reject) => {
    const word = child.stdio[3] as Socket;
    let said = "";
    const timer = setTimeout(() => settle(new Error(`shim server did not become ready within ${readyTimeoutMs} ms`)), readyTimeoutMs);
    const settle = (error?: Error, outcome: "ready" | "gone" = "ready") => {
      clearTimeout(timer);
      word.destroy();
      child.removeAllListeners();
      if (error === undefined) {
        if (outcome === "ready" && child.pid !== undefined) followDaemonOomScore(child.pid, daemonPid);
        child.unref();
        resolve(outcome);
      } else {
        child.kill("SIGKILL");
        reject(error);
      }
    };
    word.on("data", (chunk: Buffer) => {
      said += chunk.toString();
      const line = said.split("\n")[0]!;
      if (said.includes("\n")) settle(line === readyWord ? undefined : new Error(`shim server failed: ${line}`));
    });
    // A write to a spare that has gone fails here; its exit says the rest.
    word.on("error", () => undefined);
    child.once("exit", (code, signal) => {
      if (said === "" && silentExit === "gone") settle(undefined, "gone");
      else settle(new Error(`shim server exited (${code ?? signal}) before serving: ${said.trim()}`));
    });
    child.once("error", (error) => settle(error));
  });
}

/** Makes the server's OOM score one more than the daemon's, as containerd's shim does. */
export function followDaemonOomScore(serverPid: number, daemonPid: number): void {
  try {
    const score = Number.parseInt(readFileSync(`/proc/${daemonPid}/oom_score_adj`, "utf8"), 10);
    writeFileSync(`/proc/${serverPid}/oom_score_adj`, String(Math.min(score + 1, 1000)));
  } catch {
    // Best effort, as in containerd.
  }
}
