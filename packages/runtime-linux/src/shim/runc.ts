import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { open } from "node:fs/promises";
import { Socket } from "node:net";
import { BerthError, type ErrorKind } from "@berth/api";
import { closeFd, makePipe, spawnProcess } from "./libc.js";

/** How to call runc: which binary, its state root (`--root`), the cgroup driver. */
export interface RuncConfig {
  readonly binary: string;
  readonly root: string;
  readonly systemdCgroup: boolean;
}

/** The container's stdin, stdout and stderr for runc to hand on: descriptors, or null for /dev/null. */
export type Stdio = readonly [number | null, number | null, number | null];

export interface CreateOptions {
  readonly bundle: string;
  readonly pidFile: string;
  readonly stdio: Stdio;
  readonly consoleSocket?: string;
  readonly noPivot?: boolean;
  readonly noNewKeyring?: boolean;
}

export interface ExecOptions {
  readonly processFile: string;
  readonly pidFile: string;
  readonly stdio: Stdio;
  readonly consoleSocket?: string;
}

/** CRIU's options, as go-runc's CheckpointOpts turns them into runc flags. */
export interface CriuOptions {
  readonly imagePath: string;
  readonly workPath: string;
  readonly parentPath?: string;
  readonly openTcp?: boolean;
  readonly externalUnixSockets?: boolean;
  readonly terminal?: boolean;
  readonly fileLocks?: boolean;
  readonly emptyNamespaces?: readonly string[];
  readonly cgroupsMode?: string;
}

export interface RestoreOptions {
  readonly bundle: string;
  readonly pidFile: string;
  readonly stdio: Stdio;
  readonly consoleSocket?: string;
  readonly noPivot?: boolean;
  readonly criu: CriuOptions;
}

function criuArgs(options: CriuOptions): string[] {
  const args: string[] = [];
  if (options.imagePath !== "") args.push("--image-path", options.imagePath);
  if (options.workPath !== "") args.push("--work-path", options.workPath);
  if (options.parentPath) args.push("--parent-path", options.parentPath);
  if (options.openTcp) args.push("--tcp-established");
  if (options.externalUnixSockets) args.push("--ext-unix-sk");
  if (options.terminal) args.push("--shell-job");
  if (options.cgroupsMode) args.push("--manage-cgroups-mode", options.cgroupsMode);
  if (options.fileLocks) args.push("--file-locks");
  for (const namespace of options.emptyNamespaces ?? []) args.push("--empty-ns", namespace);
  return args;
}

/** The pids of the process that ran runc, so that the reaper leaves their exit to Node. */
export interface SpawnTracker {
  spawned(pid: number): void;
  finished(pid: number): void;
  /**
   * Resolves with the exit of a child this tracker reaps itself. When given, runc is started with
   * posix_spawn (see `spawnProcess`) and reaped through it, instead of Node's spawn and reaping.
   */
  watch?(pid: number): Promise<{ readonly status: number }>;
}

interface Outcome {
  readonly code: number | null;
  /** Where runc's log ended before this call: only what it logged since is about this call. */
  readonly logOffset: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * runc's command line, as containerd's go-runc drives it. Errors become BerthErrors carrying
 * runc's own message (from its JSON log, else its stderr); a container runc does not know is
 * NotFound.
 */
export class Runc {
  constructor(
    readonly config: RuncConfig,
    private readonly logFile: string,
    private readonly tracker: SpawnTracker,
  ) {}

  async create(id: string, options: CreateOptions): Promise<void> {
    const args = ["create", "--bundle", options.bundle, "--pid-file", options.pidFile];
    if (options.consoleSocket !== undefined) args.push("--console-socket", options.consoleSocket);
    if (options.noPivot === true) args.push("--no-pivot");
    if (options.noNewKeyring === true) args.push("--no-new-keyring");
    await this.#check(await this.#run([...args, id], { stdio: options.stdio }), `create ${id}`);
  }

  async start(id: string): Promise<void> {
    await this.#check(await this.#run(["start", id]), `start ${id}`);
  }

  async exec(id: string, options: ExecOptions): Promise<void> {
    const args = ["exec", "--detach", "--process", options.processFile, "--pid-file", options.pidFile];
    if (options.consoleSocket !== undefined) args.push("--console-socket", options.consoleSocket);
    await this.#check(await this.#run([...args, id], { stdio: options.stdio }), `exec ${id}`);
  }

  /**
   * `runc checkpoint`; fails as go-runc does, with the first line runc printed
   * ("runc did not terminate successfully: exit status 1: criu failed: …").
   */
  async checkpoint(id: string, options: CriuOptions, leaveRunning: boolean): Promise<void> {
    const args = ["checkpoint", ...criuArgs(options), ...(leaveRunning ? ["--leave-running"] : [])];
    const outcome = await this.#run([...args, id]);
    if (outcome.code === 0) return;
    const printed = `${outcome.stdout}${outcome.stderr}`.split("\n")[0]!.trim();
    throw new BerthError("Unknown", `runc did not terminate successfully: exit status ${outcome.code}: ${printed}`);
  }

  /** `runc restore --detach` of a checkpoint into a created container's bundle. */
  async restore(id: string, options: RestoreOptions): Promise<void> {
    const args = ["restore", ...criuArgs(options.criu), "--detach", "--pid-file", options.pidFile, "--no-subreaper"];
    if (options.consoleSocket !== undefined) args.push("--console-socket", options.consoleSocket);
    if (options.noPivot === true) args.push("--no-pivot");
    await this.#check(await this.#run([...args, "--bundle", options.bundle, id], { stdio: options.stdio }), `restore ${id}`);
  }

  async kill(id: string, signal: number, all: boolean): Promise<void> {
    await this.#check(await this.#run(["kill", ...(all ? ["--all"] : []), id, String(signal)]), `kill ${id}`);
  }

  async delete(id: string, force: boolean): Promise<void> {
    await this.#check(await this.#run(["delete", ...(force ? ["--force"] : []), id]), `delete ${id}`);
  }

  async pause(id: string): Promise<void> {
    await this.#check(await this.#run(["pause", id]), `pause ${id}`);
  }

  async resume(id: string): Promise<void> {
    await this.#check(await this.#run(["resume", id]), `resume ${id}`);
  }

  async ps(id: string): Promise<number[]> {
    const outcome = await this.#run(["ps", "--format", "json", id]);
    await this.#check(outcome, `ps ${id}`);
    const pids = JSON.parse(outcome.stdout || "[]") as unknown;
    return Array.isArray(pids) ? pids.filter((pid): pid is number => typeof pid === "number") : [];
  }

  /** `resources` is the LinuxResources JSON, handed over on stdin. */
  async update(id: string, resources: string): Promise<void> {
    await this.#check(await this.#run(["update", "--resources", "-", id], { input: resources }), `update ${id}`);
  }

  #run(args: readonly string[], options: { stdio?: Stdio; input?: string } = {}): Promise<Outcome> {
    const global = ["--root", this.config.root, "--log", this.logFile, "--log-format", "json"];
    if (this.config.systemdCgroup) global.push("--systemd-cgroup");
    const captured = options.stdio === undefined;
    const logOffset = logSize(this.logFile);
    // Descriptors 0–2 of the shim itself are left to Node's spawn, which knows how to hand them on in place.
    const direct = options.input === undefined && (options.stdio ?? []).every((fd) => fd === null || fd > 2);
    if (this.tracker.watch !== undefined && direct) return this.#spawnDirect(args[0]!, [...global, ...args], options.stdio, logOffset);
    const stdio = captured ? (["pipe", "pipe", "pipe"] as const) : options.stdio!.map((fd) => fd ?? "ignore");
    return new Promise((resolve, reject) => {
      const child = spawn(this.config.binary, [...global, ...args], { stdio: stdio as never });
      const pid = child.pid;
      if (pid !== undefined) this.tracker.spawned(pid);
      let stdout = "";
      let stderr = "";
      child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk));
      child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk));
      child.once("error", (error) => {
        if (pid !== undefined) this.tracker.finished(pid);
        reject(new BerthError("Internal", `runc ${args[0]}: ${error.message}`));
      });
      child.once("close", (code) => {
        if (pid !== undefined) this.tracker.finished(pid);
        resolve({ code, logOffset, stdout, stderr });
      });
      if (captured) child.stdin?.end(options.input ?? "");
    });
  }

  /** runc started with posix_spawn and reaped by the tracker: its output captured unless `stdio` is given, stdin empty. */
  async #spawnDirect(command: string, argv: readonly string[], stdio: Stdio | undefined, logOffset: number): Promise<Outcome> {
    const pipes = stdio === undefined ? [makePipe(), makePipe()] : [];
    let pid: number;
    try {
      pid = spawnProcess(this.config.binary, [this.config.binary, ...argv], process.env, stdio ?? [null, pipes[0]![1], pipes[1]![1]]);
    } catch (error) {
      for (const [read] of pipes) closeFd(read);
      throw new BerthError("Internal", `runc ${command}: spawn ${this.config.binary} ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    } finally {
      for (const [, write] of pipes) closeFd(write);
    }
    const exited = this.tracker.watch!(pid);
    const [stdout = "", stderr = ""] = await Promise.all(pipes.map(([read]) => readToEnd(read)));
    const { status } = await exited;
    return { code: status, logOffset, stdout, stderr };
  }

  async #check(outcome: Outcome, what: string): Promise<void> {
    if (outcome.code === 0) return;
    // runc's own words when it logged them (as containerd's shim reports them), else its output.
    const message = (await this.#loggedError(outcome.logOffset)) ?? `runc ${what}: ${outcome.stderr.trim() || `exit status ${outcome.code}`}`;
    throw new BerthError(kindOfRuncError(message), message);
  }

  async #loggedError(offset: number): Promise<string | undefined> {
    const text = await readFrom(this.logFile, offset);
    const lines = text.trimEnd().split("\n").reverse();
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string };
        if (entry.level === "error" && entry.msg !== undefined) return entry.msg;
      } catch {
        // not a JSON line
      }
    }
    return undefined;
  }
}

function kindOfRuncError(message: string): ErrorKind {
  if (/does not exist|not found/.test(message)) return "NotFound";
  if (/not running|not paused|is paused|already|cannot/.test(message)) return "FailedPrecondition";
  return "Unknown";
}

/** Everything written to the pipe `fd` until its last writer closes it; the descriptor is closed after. */
function readToEnd(fd: number): Promise<string> {
  return new Promise((resolve) => {
    const pipe = new Socket({ fd, readable: true, writable: false });
    let text = "";
    pipe.on("data", (chunk: Buffer) => (text += chunk));
    pipe.once("error", () => pipe.destroy());
    pipe.once("close", () => resolve(text));
  });
}

function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function readFrom(path: string, offset: number): Promise<string> {
  const file = await open(path, "r").catch(() => undefined);
  if (file === undefined) return "";
  try {
    const { size } = await file.stat();
    if (size <= offset) return "";
    const buffer = Buffer.alloc(Math.min(size - offset, 1 << 20));
    const { bytesRead } = await file.read(buffer, 0, buffer.byteLength, size - buffer.byteLength);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } finally {
    await file.close();
  }
}
