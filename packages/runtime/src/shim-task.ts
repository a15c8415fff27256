import {
  type Any,
  type CallContext,
  type ConsoleSize,
  type ExecOptions,
  type ExecProcess,
  type Exit,
  type ProcessInfo,
  type ProcessState,
  type RuntimeProcess,
  type RuntimeTask,
  type TaskStatus,
  failedPrecondition,
  goZeroTime,
  validateIdentifier,
} from "@berth/api";
import { taskTypes, type taskV2 } from "@berth/api/proto";
import type { TtrpcCallOptions, TtrpcServiceClient } from "@berth/ttrpc";

export type ShimTaskService = TtrpcServiceClient<typeof taskV2.TaskDefinition>;

const statusNames: Record<taskTypes.Status, TaskStatus> = {
  [taskTypes.Status.UNKNOWN]: "unknown",
  [taskTypes.Status.CREATED]: "created",
  [taskTypes.Status.RUNNING]: "running",
  [taskTypes.Status.STOPPED]: "stopped",
  [taskTypes.Status.PAUSED]: "paused",
  [taskTypes.Status.PAUSING]: "pausing",
};

export function taskStatusOf(status: taskTypes.Status): TaskStatus {
  return statusNames[status] ?? "unknown";
}

/** What the runc shims' State responses (v1 and v2) say of a process, as a ProcessState of process `id`. */
export function processStateOf(
  id: string,
  state: Omit<ProcessState, "id" | "status" | "exitedAt"> & { status: taskTypes.Status; exitedAt?: ProcessState["exitedAt"] | undefined },
): ProcessState {
  return {
    id,
    status: taskStatusOf(state.status),
    pid: state.pid,
    stdin: state.stdin,
    stdout: state.stdout,
    stderr: state.stderr,
    terminal: state.terminal,
    exitStatus: state.exitStatus,
    exitedAt: state.exitedAt ?? goZeroTime,
  };
}

/** ttrpc options for a call made on behalf of `context`: its namespace and cancellation. */
export function callOptions(namespace: string, context: CallContext): TtrpcCallOptions {
  return { namespace, signal: context.signal };
}

/** A process of a task served by a shim over the containerd.task.v2 ttrpc API. */
class ShimProcess implements RuntimeProcess {
  constructor(
    protected readonly shim: ShimTaskService,
    readonly namespace: string,
    readonly taskId: string,
    protected readonly execId: string,
  ) {}

  get id(): string {
    return this.execId === "" ? this.taskId : this.execId;
  }

  protected options(context: CallContext): TtrpcCallOptions {
    return callOptions(this.namespace, context);
  }

  async state(context: CallContext): Promise<ProcessState> {
    return processStateOf(this.id, await this.shim.state({ id: this.taskId, execId: this.execId }, this.options(context)));
  }

  async kill(context: CallContext, signal: number, all = false): Promise<void> {
    await this.shim.kill({ id: this.taskId, execId: this.execId, signal, all }, this.options(context));
  }

  async resizePty(context: CallContext, size: ConsoleSize): Promise<void> {
    await this.shim.resizePty({ id: this.taskId, execId: this.execId, width: size.width, height: size.height }, this.options(context));
  }

  async closeIO(context: CallContext): Promise<void> {
    await this.shim.closeIO({ id: this.taskId, execId: this.execId, stdin: true }, this.options(context));
  }

  async start(context: CallContext): Promise<number> {
    return (await this.shim.start({ id: this.taskId, execId: this.execId }, this.options(context))).pid;
  }

  async wait(context: CallContext): Promise<Exit> {
    const response = await this.shim.wait({ id: this.taskId, execId: this.execId }, this.options(context));
    const pid = (await this.state(context).catch(() => undefined))?.pid ?? 0;
    return { pid, status: response.exitStatus, timestamp: response.exitedAt ?? goZeroTime };
  }
}

export class ShimExecProcess extends ShimProcess implements ExecProcess {
  async delete(context: CallContext): Promise<Exit> {
    const state = await this.state(context);
    if (state.status === "running" || state.status === "paused" || state.status === "pausing") {
      throw failedPrecondition(`exec ${this.execId} of task ${this.taskId} is ${state.status}`);
    }
    const response = await this.shim.delete({ id: this.taskId, execId: this.execId }, this.options(context));
    return { pid: response.pid, status: response.exitStatus, timestamp: response.exitedAt ?? goZeroTime };
  }
}

/** A task's init process and what acts on the whole container. */
export class ShimTask extends ShimProcess implements RuntimeTask {
  constructor(
    shim: ShimTaskService,
    namespace: string,
    taskId: string,
    readonly runtime: string,
    readonly pid: number,
  ) {
    super(shim, namespace, taskId, "");
  }

  async pause(context: CallContext): Promise<void> {
    await this.shim.pause({ id: this.taskId }, this.options(context));
  }

  async resume(context: CallContext): Promise<void> {
    await this.shim.resume({ id: this.taskId }, this.options(context));
  }

  async exec(context: CallContext, execId: string, options: ExecOptions): Promise<ExecProcess> {
    validateIdentifier(execId, "exec id");
    const state = await this.state(context);
    if (state.status !== "running") throw failedPrecondition(`cannot exec in a ${state.status} task ${this.taskId}`);
    await this.shim.exec(
      {
        id: this.taskId,
        execId,
        terminal: options.io.terminal,
        stdin: options.io.stdin,
        stdout: options.io.stdout,
        stderr: options.io.stderr,
        spec: options.spec,
      },
      this.options(context),
    );
    return new ShimExecProcess(this.shim, this.namespace, this.taskId, execId);
  }

  async process(context: CallContext, execId: string): Promise<ExecProcess> {
    const process = new ShimExecProcess(this.shim, this.namespace, this.taskId, execId);
    // NotFound from the shim when there is no such exec.
    await process.state(context);
    return process;
  }

  async pids(context: CallContext): Promise<ProcessInfo[]> {
    const response = await this.shim.pids({ id: this.taskId }, this.options(context));
    return response.processes.map((process) => ({ pid: process.pid, info: process.info }));
  }

  async checkpoint(context: CallContext, path: string, options?: Any): Promise<void> {
    await this.shim.checkpoint({ id: this.taskId, path, options }, this.options(context));
  }

  async update(context: CallContext, resources: Any | undefined, annotations: Readonly<Record<string, string>>): Promise<void> {
    await this.shim.update({ id: this.taskId, resources, annotations: { ...annotations } }, this.options(context));
  }

  async stats(context: CallContext): Promise<Any> {
    const response = await this.shim.stats({ id: this.taskId }, this.options(context));
    if (response.stats === undefined) throw failedPrecondition(`task ${this.taskId} has no stats`);
    return response.stats;
  }
}
