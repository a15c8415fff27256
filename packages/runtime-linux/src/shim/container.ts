import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BerthError, type Mount, alreadyExists, failedPrecondition, invalidArgument, notFound } from "@berth/api";
import { mountAll, unmountAll } from "@berth/mount";
import type { runcV1 } from "@berth/api/proto";
import { criuDumpOptions, criuWorkPath, keepDumpLog, removeWork } from "./checkpoint.js";
import { ConsoleSocket, openConsole } from "./console.js";
import { type RuncOptions, runcBinary } from "./options.js";
import { ShimProcess, Status } from "./process.js";
import type { Exit, Reaper } from "./reaper.js";
import { type CriuOptions, Runc } from "./runc.js";
import { type IoOwner, ProcessIO, type StdioRequest } from "./stdio.js";

/** What a container needs from the shim around it. */
export interface ContainerHost {
  readonly reaper: Reaper;
  /** Called as soon as a process started, before its exit can be reported. */
  started(container: Container, process: ShimProcess): void;
  /** Called once a process has exited and its output was delivered. */
  exited(container: Container, process: ShimProcess, exit: Exit): void;
}

export interface CreateRequest extends StdioRequest {
  readonly id: string;
  readonly bundle: string;
  readonly rootfs: readonly Mount[];
  readonly options: RuncOptions;
  readonly runcRoot: string;
  /** The namespace of the shim's client: a `binary://` log driver gets it as CONTAINER_NAMESPACE. */
  readonly namespace: string;
  /** A directory holding a CRIU image to restore the init from at Start ("" for none), and its parent. */
  readonly checkpoint: string;
  readonly parentCheckpoint: string;
}

interface Spec {
  readonly annotations?: Record<string, string>;
  readonly linux?: { readonly namespaces?: readonly { readonly type: string; readonly path?: string }[] };
}

const SIGKILL = 9;

/**
 * One container of the shim: its bundle, rootfs mounts, init process and exec processes,
 * driven through runc as containerd's runc shim drives them.
 */
export class Container {
  readonly execs = new Map<string, ShimProcess>();
  /** Exec processes' runtime-spec Process, written for runc at Start. */
  readonly #execSpecs = new Map<string, unknown>();
  #rootfs: string | undefined;
  /** Set for a container created from a checkpoint: its init is restored by `runc restore` at Start. */
  #restore: CriuOptions | undefined;

  private constructor(
    readonly id: string,
    readonly bundle: string,
    readonly init: ShimProcess,
    readonly runc: Runc,
    readonly spec: Spec,
    readonly namespace: string,
    private readonly options: RuncOptions,
    private readonly host: ContainerHost,
  ) {}

  /** Mounts the rootfs and runs `runc create`; on failure nothing is left mounted, open or created. */
  static async create(request: CreateRequest, host: ContainerHost): Promise<Container> {
    const spec = readSpec(request.bundle);
    const runc = new Runc(
      { binary: runcBinary(request.options), root: request.runcRoot, systemdCgroup: request.options.systemdCgroup },
      join(request.bundle, "log.json"),
      host.reaper,
    );
    const init = new ShimProcess(request.id, "", { stdin: request.stdin, stdout: request.stdout, stderr: request.stderr, terminal: request.terminal });
    const container = new Container(request.id, request.bundle, init, runc, spec, request.namespace, request.options, host);
    try {
      await container.#mountRootfs(request.rootfs);
      // As containerd's shim: runc runs only at Start, which restores instead of starting.
      if (request.checkpoint !== "") {
        // CRIU works (and logs) in the task's work directory unless the options name another.
        const workPath = request.options.criuWorkPath || join(request.bundle, "work");
        container.#restore = { imagePath: request.checkpoint, workPath, parentPath: request.parentCheckpoint };
      } else {
        await container.#createInit();
      }
    } catch (error) {
      init.io?.close();
      await container.#unmountRootfs().catch(() => undefined);
      throw error;
    }
    return container;
  }

  async #mountRootfs(mounts: readonly Mount[]): Promise<void> {
    if (mounts.length === 0) return;
    const rootfs = join(this.bundle, "rootfs");
    mkdirSync(rootfs, { recursive: true, mode: 0o711 });
    await mountAll(mounts, rootfs);
    this.#rootfs = rootfs;
  }

  async #unmountRootfs(): Promise<void> {
    if (this.#rootfs === undefined) return;
    await unmountAll(this.#rootfs);
    this.#rootfs = undefined;
  }

  async #createInit(): Promise<void> {
    const pidFile = join(this.bundle, "init.pid");
    await this.#launch(
      this.init,
      (stdio, consoleSocket) =>
        this.runc.create(this.id, {
          bundle: this.bundle,
          pidFile,
          stdio,
          ...(consoleSocket === undefined ? {} : { consoleSocket }),
          noPivot: this.options.noPivotRoot,
          noNewKeyring: this.options.noNewKeyring,
        }),
      pidFile,
      "OCI runtime create failed",
    );
  }

  async #restoreInit(restore: CriuOptions): Promise<void> {
    const pidFile = join(this.bundle, "init.pid");
    await this.#launch(
      this.init,
      (stdio, consoleSocket) =>
        this.runc.restore(this.id, {
          bundle: this.bundle,
          pidFile,
          stdio,
          ...(consoleSocket === undefined ? {} : { consoleSocket }),
          noPivot: this.options.noPivotRoot,
          criu: restore,
        }),
      pidFile,
      "OCI runtime restore failed",
    );
  }

  /**
   * Dumps the container with CRIU into `path` (`runc checkpoint`), leaving it running unless
   * `exit`; the dump's log is kept in the bundle when CRIU fails.
   */
  async checkpoint(path: string, options: runcV1.CheckpointOptions): Promise<void> {
    const status = this.init.status;
    if (status === Status.CREATED) throw failedPrecondition("cannot checkpoint a task in created state");
    if (status === Status.STOPPED) throw failedPrecondition("cannot checkpoint a stopped container");
    const work = criuWorkPath(this.bundle, options.workPath);
    try {
      await this.runc.checkpoint(this.id, criuDumpOptions(path, work.path, options), !options.exit);
    } catch (error) {
      const kept = keepDumpLog(this.bundle, work.path);
      throw new BerthError(error instanceof BerthError ? error.kind : "Unknown", `${(error as Error).message.split("\n")[0]} path= ${kept}`);
    } finally {
      removeWork(work);
    }
  }

  /** Opens the process's stdio, runs runc, wires the console, reads the pid and watches for the exit. */
  async #launch(
    process: ShimProcess,
    run: (stdio: ProcessIO["childStdio"], consoleSocket: string | undefined) => Promise<void>,
    pidFile: string,
    failure: string,
  ): Promise<void> {
    const io = await ProcessIO.open(process.stdio, this.#ioOwner(), { containerId: this.id, namespace: this.namespace, tracker: this.host.reaper });
    process.io = io;
    const socket = process.stdio.terminal ? new ConsoleSocket() : undefined;
    const releaseExits = this.host.reaper.holdExits();
    try {
      try {
        await run(io.childStdio, socket?.path);
      } catch (error) {
        throw error instanceof BerthError ? new BerthError(error.kind, `${failure}: ${error.message}`) : error;
      } finally {
        io.releaseChildEnds();
      }
      io.startCopying();
      if (socket !== undefined) io.attachConsole(openConsole(socket.receiveMaster()));
      process.pid = Number.parseInt(await readFile(pidFile, "utf8"), 10);
      // waitpid(0) would reap any child, runc's among them.
      if (!(process.pid > 0)) throw new BerthError("Internal", `${failure}: no pid in ${pidFile}`);
      void this.host.reaper.watch(process.pid).then((exit) => this.#onExit(process, exit));
    } catch (error) {
      io.close();
      throw error;
    } finally {
      releaseExits();
      socket?.close();
    }
  }

  #ioOwner(): IoOwner {
    return { uid: this.options.ioUid, gid: this.options.ioGid };
  }

  async #onExit(process: ShimProcess, exit: Exit): Promise<void> {
    if (process.isInit && !this.#hasOwnPidNamespace()) {
      // Without a pid namespace of its own, nothing else stops the container's other processes.
      await this.runc.kill(this.id, SIGKILL, true).catch(() => undefined);
    }
    await process.exited(exit);
    this.host.exited(this, process, exit);
  }

  #hasOwnPidNamespace(): boolean {
    return this.spec.linux?.namespaces?.some((ns) => ns.type === "pid" && (ns.path ?? "") === "") ?? false;
  }

  process(execId: string): ShimProcess {
    if (execId === "") return this.init;
    const process = this.execs.get(execId);
    if (process === undefined) throw notFound(`process does not exist ${execId}`);
    return process;
  }

  /** Starts the init (runc start) or an exec (runc exec); returns the pid. */
  async start(execId: string): Promise<ShimProcess> {
    const process = this.process(execId);
    if (process.status !== Status.CREATED || process.starting !== undefined) {
      throw failedPrecondition(`process ${process.id} is not in created state`);
    }
    if (!process.isInit && !this.init.running) throw failedPrecondition(`container ${this.id} is not running`);
    const restore = process.isInit ? this.#restore : undefined;
    const starting = restore !== undefined ? this.#restoreInit(restore) : process.isInit ? this.runc.start(this.id) : this.#startExec(process);
    process.starting = starting;
    try {
      await starting;
      if (restore !== undefined) this.#restore = undefined;
      if (process.status === Status.CREATED) process.status = Status.RUNNING;
      this.host.started(this, process);
    } catch (error) {
      if (!process.isInit) process.failedToStart();
      throw error;
    } finally {
      process.starting = undefined;
    }
    return process;
  }

  async #startExec(process: ShimProcess): Promise<void> {
    const processFile = join(this.bundle, `${process.execId}.process.json`);
    const pidFile = join(this.bundle, `${process.execId}.pid`);
    writeFileSync(processFile, JSON.stringify(this.#execSpecs.get(process.execId)));
    try {
      await this.#launch(
        process,
        (stdio, consoleSocket) => this.runc.exec(this.id, { processFile, pidFile, stdio, ...(consoleSocket === undefined ? {} : { consoleSocket }) }),
        pidFile,
        "OCI runtime exec failed",
      );
    } finally {
      rmSync(processFile, { force: true });
    }
  }

  /** Records an exec process (runc runs it at Start). */
  addExec(execId: string, stdio: StdioRequest, spec: unknown): ShimProcess {
    if (this.execs.has(execId)) throw alreadyExists(`id ${execId}`);
    if (typeof spec !== "object" || spec === null) throw invalidArgument(`exec ${execId}: spec must be a runtime-spec Process`);
    if (this.init.status === Status.PAUSED) throw failedPrecondition(`cannot exec in a paused state`);
    if (this.init.status === Status.STOPPED) throw failedPrecondition(`cannot exec in a stopped state`);
    const process = new ShimProcess(execId, execId, stdio);
    this.execs.set(execId, process);
    // As containerd's shim: the request says whether there is a terminal, so that the spec runc
    // reads and the console socket it is given agree.
    this.#execSpecs.set(execId, { ...spec, terminal: stdio.terminal });
    return process;
  }

  async kill(execId: string, signal: number, all: boolean): Promise<void> {
    const process = this.process(execId);
    if (process.exit !== undefined) throw notFound("process already finished");
    if (!process.isInit) {
      if (process.pid === 0) throw failedPrecondition("process not created");
      try {
        globalThis.process.kill(process.pid, signal);
      } catch {
        throw notFound("process already finished");
      }
      return;
    }
    try {
      await this.runc.kill(this.id, signal, all);
    } catch (error) {
      if (error instanceof BerthError && /not running|no such process|already finished|does not exist/.test(error.message)) {
        throw notFound("process already finished");
      }
      throw error;
    }
  }

  async pause(): Promise<void> {
    if (this.init.status !== Status.RUNNING) throw failedPrecondition(`container ${this.id} is not running`);
    await this.runc.pause(this.id);
    this.init.status = Status.PAUSED;
  }

  async resume(): Promise<void> {
    if (this.init.status !== Status.PAUSED) throw failedPrecondition(`container ${this.id} is not paused`);
    await this.runc.resume(this.id);
    this.init.status = Status.RUNNING;
  }

  /** Deletes the init (and with it the container) or an exec; both must have stopped. */
  async delete(execId: string): Promise<ShimProcess> {
    const process = this.process(execId);
    if (process.running) throw failedPrecondition(`cannot delete a running process ${process.id}`);
    if (!process.isInit) {
      process.io?.close();
      this.execs.delete(execId);
      this.#execSpecs.delete(execId);
      rmSync(join(this.bundle, `${execId}.pid`), { force: true });
      return process;
    }
    try {
      await this.runc.delete(this.id, process.exit === undefined);
    } catch (error) {
      if (!(error instanceof BerthError && /does not exist/.test(error.message))) {
        throw new BerthError(error instanceof BerthError ? error.kind : "Unknown", `failed to delete task: ${(error as Error).message}`);
      }
    }
    if (process.exit === undefined && process.pid !== 0) {
      // A created init that runc delete --force just killed: report how it ended.
      await Promise.race([process.wait(), new Promise((resolve) => setTimeout(resolve, 2_000))]);
    }
    for (const exec of this.execs.values()) exec.io?.close();
    process.io?.close();
    await this.#unmountRootfs();
    return process;
  }

  /** Pids of every process in the container, with the exec id of those that are execs. */
  async pids(): Promise<{ pid: number; execId: string | undefined }[]> {
    const pids = await this.runc.ps(this.id);
    const execByPid = new Map([...this.execs.values()].map((exec) => [exec.pid, exec.execId]));
    return pids.map((pid) => ({ pid, execId: execByPid.get(pid) }));
  }

  async update(resources: string): Promise<void> {
    await this.runc.update(this.id, resources);
  }
}

function readSpec(bundle: string): Spec {
  let text: string;
  try {
    text = readFileSync(join(bundle, "config.json"), "utf8");
  } catch (error) {
    throw invalidArgument(`bundle ${bundle}: cannot read config.json: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as Spec;
  } catch (error) {
    throw invalidArgument(`bundle ${bundle}: config.json is not JSON: ${(error as Error).message}`);
  }
}
