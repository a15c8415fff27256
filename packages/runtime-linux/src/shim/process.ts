import { goZeroTime } from "@berth/api";
import type * as taskV2 from "@berth/api/gen/containerd/task/v2/shim";
import * as taskTypes from "@berth/api/gen/containerd/types/task/task";
import type { Exit } from "./reaper.js";
import type { ProcessIO, StdioRequest } from "./stdio.js";

export const { Status } = taskTypes;
export type Status = taskTypes.Status;

/** How long an exit waits for the process's output to reach EOF (a daemonised child may hold its pipes). */
const outputGraceMs = 2_000;

/**
 * One process of a container: its init (exec id "") or an exec. Tracks its pid, status and
 * exit, and lets any number of callers wait for the exit, also before the process started.
 */
export class ShimProcess {
  pid = 0;
  status: Status = Status.CREATED;
  exit: Exit | undefined;
  io: ProcessIO | undefined;
  /** Set while Start runs, so that an exit is never reported before the start. */
  starting: Promise<unknown> | undefined;
  readonly #exited: Promise<Exit>;
  #resolveExit!: (exit: Exit) => void;

  constructor(
    /** The container id for the init, else the exec id. */
    readonly id: string,
    readonly execId: string,
    readonly stdio: StdioRequest,
  ) {
    this.#exited = new Promise((resolve) => (this.#resolveExit = resolve));
  }

  get isInit(): boolean {
    return this.execId === "";
  }

  get running(): boolean {
    return this.status === Status.RUNNING || this.status === Status.PAUSED || this.status === Status.PAUSING;
  }

  /** Resolves with the exit, once the process is gone and its output delivered. */
  wait(): Promise<Exit> {
    return this.#exited;
  }

  /**
   * Records the exit once the output has been delivered (or the grace is over), so that a
   * client that deletes the task on exit loses none of it.
   */
  async exited(exit: Exit): Promise<void> {
    const io = this.io;
    if (io !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([io.outputDelivered(), new Promise((resolve) => (timer = setTimeout(resolve, outputGraceMs)))]);
      clearTimeout(timer);
    }
    await this.starting?.catch(() => undefined);
    this.exit = exit;
    this.status = Status.STOPPED;
    this.#resolveExit(exit);
  }

  /** An exit for a process that never ran (its start failed). */
  failedToStart(): void {
    this.exit = { status: 0, exitedAt: goZeroTime };
    this.status = Status.STOPPED;
    this.#resolveExit(this.exit);
  }

  /** The Task API's State of this process (exec_id stays empty, as containerd's shim leaves it). */
  state(bundle: string): taskV2.StateResponse {
    return {
      id: this.id,
      bundle,
      pid: this.pid,
      status: this.status,
      stdin: this.stdio.stdin,
      stdout: this.stdio.stdout,
      stderr: this.stdio.stderr,
      terminal: this.stdio.terminal,
      exitStatus: this.exit?.status ?? 0,
      exitedAt: this.exit?.exitedAt ?? goZeroTime,
      execId: "",
    };
  }
}
