import type { CallContext } from "./context.js";
import type { Mount } from "./snapshots.js";
import type { Timestamp } from "./timestamps.js";
import type { Any } from "./typeurl.js";

/**
 * A process's lifecycle state, as containerd's `containerd.v1.types.Status`: CREATED (set up, not
 * started) → RUNNING → STOPPED; RUNNING ⇄ PAUSED (PAUSING while freezing); UNKNOWN when the state
 * cannot be read (e.g. its shim is gone).
 */
export type TaskStatus = "unknown" | "created" | "running" | "stopped" | "paused" | "pausing";

/**
 * Where a process's stdio goes: paths the shim opens (FIFOs unless a `file://` or `binary://` URI);
 * "" for a stream not used. With `terminal` a pty joins stdin and stdout and `stderr` is "".
 */
export interface TaskIO {
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly terminal: boolean;
}

export interface CreateTaskOptions {
  /** The OCI runtime spec (`types.containerd.io/opencontainers/runtime-spec/1/Spec`, JSON), written as the bundle's config.json. */
  readonly spec: Any;
  /** Mounted by the shim onto `<bundle>/rootfs`, in order; empty when the spec's root is already populated. */
  readonly rootfs: readonly Mount[];
  readonly io: TaskIO;
  /** Runtime name (`io.containerd.runc.v2`) or an absolute path to a shim binary. */
  readonly runtime: string;
  /** Options for the shim's `start` (stdin) and Create (e.g. `containerd.runc.v1.Options`). */
  readonly runtimeOptions?: Any | undefined;
  /** Per-task options that override `runtimeOptions` for Create. */
  readonly taskOptions?: Any | undefined;
  /** A directory holding a checkpoint image to restore from, or "". */
  readonly checkpoint?: string | undefined;
}

export interface ProcessState {
  readonly id: string;
  readonly status: TaskStatus;
  readonly pid: number;
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly terminal: boolean;
  /** Meaningful once STOPPED: the exit code, or 128 + signal for a process killed by one. */
  readonly exitStatus: number;
  /** When the process was reaped; Go's zero time while it runs. */
  readonly exitedAt: Timestamp;
}

/** How a process ended. `status` 255 with `timestamp` = now means "unknown" (its shim died). */
export interface Exit {
  readonly pid: number;
  readonly status: number;
  readonly timestamp: Timestamp;
}

export interface ProcessInfo {
  readonly pid: number;
  /** Runtime-specific detail; the runc shims give `containerd.runc.v1.ProcessDetails{exec_id}` for exec processes. */
  readonly info?: Any | undefined;
}

export interface ExecOptions {
  /** The process spec (`types.containerd.io/opencontainers/runtime-spec/1/Process`, JSON). */
  readonly spec: Any;
  readonly io: TaskIO;
}

export interface ConsoleSize {
  readonly width: number;
  readonly height: number;
}

/**
 * One process of a task: its init process (id = the task id) or an exec process (id = exec id).
 * Every method takes the context of the call (namespace, cancellation) and fails with an error kind:
 *   - NotFound when the process (or its task) no longer exists, and for `kill` of a process that
 *     has already exited ("process already finished");
 *   - FailedPrecondition when the state forbids it (e.g. starting twice, resizing without a terminal);
 *   - Unavailable when the runtime behind it (its shim) cannot be reached.
 */
export interface RuntimeProcess {
  readonly id: string;
  state(context: CallContext): Promise<ProcessState>;
  /** Sends `signal`; `all` signals every process in the container (init only). */
  kill(context: CallContext, signal: number, all?: boolean): Promise<void>;
  resizePty(context: CallContext, size: ConsoleSize): Promise<void>;
  /** Closes the process's stdin, so that a reader sees EOF. */
  closeIO(context: CallContext): Promise<void>;
  /** Starts a CREATED process; resolves to its pid. */
  start(context: CallContext): Promise<number>;
  /**
   * Resolves once the process has exited, with how it ended; at once if it already has. Works on a
   * CREATED process (ctr waits before it starts). Aborting the context's signal only stops waiting.
   */
  wait(context: CallContext): Promise<Exit>;
}

/** An exec process; `delete` releases it once it has exited (FailedPrecondition while it runs). */
export interface ExecProcess extends RuntimeProcess {
  delete(context: CallContext): Promise<Exit>;
}

/**
 * A running container: its init process plus exec processes, owned by a shim. A task outlives the
 * daemon that created it; `Runtime` finds it again after a restart.
 */
export interface RuntimeTask extends RuntimeProcess {
  readonly namespace: string;
  /** The runtime it was created with (`io.containerd.runc.v2` or a shim path). */
  readonly runtime: string;
  /** Pid of the init process (0 when unknown). */
  readonly pid: number;
  /** Freezes every process (cgroup freezer): RUNNING → PAUSED. */
  pause(context: CallContext): Promise<void>;
  /** Thaws them: PAUSED → RUNNING. */
  resume(context: CallContext): Promise<void>;
  /**
   * Adds an exec process (CREATED until `start`). AlreadyExists for an exec id in use;
   * InvalidArgument for a bad id or spec; FailedPrecondition unless the task is RUNNING.
   */
  exec(context: CallContext, execId: string, options: ExecOptions): Promise<ExecProcess>;
  /** An existing exec process; NotFound if there is none by that id. */
  process(context: CallContext, execId: string): Promise<ExecProcess>;
  /** Every process in the container. */
  pids(context: CallContext): Promise<ProcessInfo[]>;
  /** Writes a checkpoint of the task into `path`. */
  checkpoint(context: CallContext, path: string, options?: Any): Promise<void>;
  /** Changes resources (`…/runtime-spec/1/LinuxResources` JSON) and/or annotations. */
  update(context: CallContext, resources: Any | undefined, annotations: Readonly<Record<string, string>>): Promise<void>;
  /** cgroup statistics: `io.containerd.cgroups.v1.Metrics` or `io.containerd.cgroups.v2.Metrics`. */
  stats(context: CallContext): Promise<Any>;
}

/**
 * A runtime makes and keeps tasks, as containerd's `runtime.PlatformRuntime`. Tasks are namespaced
 * by the context's namespace (required: FailedPrecondition without one), and a task id is unique in
 * its namespace.
 *
 * - `create` builds a bundle for the task, starts what runs it and creates (does not start) its
 *   init process. AlreadyExists if the id is taken; InvalidArgument for a bad id, spec or runtime
 *   name; NotFound for a runtime whose shim cannot be found. When it fails, nothing it made is left:
 *   no bundle, mount, shim or process.
 * - `get` / `tasks` return the tasks it knows, including those found again after a restart of the
 *   daemon (their processes never stopped); a task whose shim died meanwhile is cleaned up on
 *   discovery and its exit published (`/tasks/exit`, `/tasks/delete`) rather than listed.
 *   `tasks(context, true)` lists every namespace.
 * - `delete` removes a task whose init process is not running (FailedPrecondition otherwise; a
 *   CREATED task may be deleted), stops its shim, unmounts its rootfs and removes its bundle, and
 *   resolves to the init process's exit. NotFound if there is no such task.
 */
export interface Runtime {
  readonly id: string;
  create(context: CallContext, taskId: string, options: CreateTaskOptions): Promise<RuntimeTask>;
  get(context: CallContext, taskId: string): Promise<RuntimeTask>;
  tasks(context: CallContext, all?: boolean): Promise<RuntimeTask[]>;
  delete(context: CallContext, taskId: string): Promise<Exit>;
}
