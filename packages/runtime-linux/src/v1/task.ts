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
  failedPrecondition,
  goZeroTime,
  validateIdentifier,
} from "@berth/api";
import { events, type shimV1 } from "@berth/api/proto";
import type { TtrpcCallOptions, TtrpcServiceClient } from "@berth/ttrpc";
import { cgroupMetricsOfPid } from "../cgroups/process.js";
import { callOptions, processStateOf } from "@berth/runtime";

export type ShimV1Service = TtrpcServiceClient<typeof shimV1.ShimDefinition>;

/** Publishes one of the task events the runtime v1 daemon side reports itself (create, start, delete, …). */
export type TaskEventPublisher = (context: CallContext, topic: string, event: Any) => Promise<void>;

interface EventType<T> {
  encode(message: T): { finish(): Uint8Array };
  fromPartial(partial: Partial<T>): T;
}

/** An event of package containerd.events packed into an Any; fields left out take their defaults. */
export function eventAny<T>(name: string, type: EventType<T>, partial: Partial<T>): Any {
  return { typeUrl: `containerd.events.${name}`, value: Buffer.from(type.encode(type.fromPartial(partial)).finish()) };
}

const running = new Set(["running", "paused", "pausing"]);

/**
 * A process of a runtime v1 task. The v1 shim serves one container and names its processes by id
 * alone: the container id for the init process, the exec id for the others.
 */
class V1Process implements RuntimeProcess {
  constructor(
    protected readonly shim: ShimV1Service,
    protected readonly publish: TaskEventPublisher,
    readonly namespace: string,
    readonly taskId: string,
    readonly id: string,
  ) {}

  protected options(context: CallContext): TtrpcCallOptions {
    return callOptions(this.namespace, context);
  }

  async state(context: CallContext): Promise<ProcessState> {
    return processStateOf(this.id, await this.shim.state({ id: this.id }, this.options(context)));
  }

  async kill(context: CallContext, signal: number, all = false): Promise<void> {
    await this.shim.kill({ id: this.id, signal, all }, this.options(context));
  }

  async resizePty(context: CallContext, size: ConsoleSize): Promise<void> {
    await this.shim.resizePty({ id: this.id, width: size.width, height: size.height }, this.options(context));
  }

  async closeIO(context: CallContext): Promise<void> {
    await this.shim.closeIO({ id: this.id, stdin: true }, this.options(context));
  }

  async start(context: CallContext): Promise<number> {
    const { pid } = await this.shim.start({ id: this.id }, this.options(context));
    await this.publish(context, "/tasks/exec-started", eventAny("TaskExecStarted", events.TaskExecStarted, { containerId: this.taskId, execId: this.id, pid }));
    return pid;
  }

  async wait(context: CallContext): Promise<Exit> {
    const response = await this.shim.wait({ id: this.id }, this.options(context));
    const pid = (await this.state(context).catch(() => undefined))?.pid ?? 0;
    return { pid, status: response.exitStatus, timestamp: response.exitedAt ?? goZeroTime };
  }
}

class V1ExecProcess extends V1Process implements ExecProcess {
  async delete(context: CallContext): Promise<Exit> {
    const state = await this.state(context);
    if (running.has(state.status)) throw failedPrecondition(`exec ${this.id} of task ${this.taskId} is ${state.status}`);
    const response = await this.shim.deleteProcess({ id: this.id }, this.options(context));
    return { pid: response.pid, status: response.exitStatus, timestamp: response.exitedAt ?? goZeroTime };
  }
}

/** A runtime v1 task: its init process and what acts on the whole container. */
export class V1Task extends V1Process implements RuntimeTask {
  readonly runtime = "io.containerd.runtime.v1.linux";

  constructor(
    shim: ShimV1Service,
    publish: TaskEventPublisher,
    namespace: string,
    id: string,
    public pid: number,
  ) {
    super(shim, publish, namespace, id, id);
  }

  override async start(context: CallContext): Promise<number> {
    const { pid } = await this.shim.start({ id: this.id }, this.options(context));
    this.pid = pid;
    await this.publish(context, "/tasks/start", eventAny("TaskStart", events.TaskStart, { containerId: this.id, pid }));
    return pid;
  }

  async pause(context: CallContext): Promise<void> {
    await this.shim.pause({}, this.options(context));
    await this.publish(context, "/tasks/paused", eventAny("TaskPaused", events.TaskPaused, { containerId: this.id }));
  }

  async resume(context: CallContext): Promise<void> {
    await this.shim.resume({}, this.options(context));
    await this.publish(context, "/tasks/resumed", eventAny("TaskResumed", events.TaskResumed, { containerId: this.id }));
  }

  async exec(context: CallContext, execId: string, options: ExecOptions): Promise<ExecProcess> {
    validateIdentifier(execId, "exec id");
    const state = await this.state(context);
    if (state.status !== "running") throw failedPrecondition(`cannot exec in a ${state.status} task ${this.id}`);
    const { io } = options;
    await this.shim.exec(
      { id: execId, terminal: io.terminal, stdin: io.stdin, stdout: io.stdout, stderr: io.stderr, spec: options.spec },
      this.options(context),
    );
    return new V1ExecProcess(this.shim, this.publish, this.namespace, this.id, execId);
  }

  async process(context: CallContext, execId: string): Promise<ExecProcess> {
    const process = new V1ExecProcess(this.shim, this.publish, this.namespace, this.id, execId);
    // NotFound from the shim when there is no such process.
    await process.state(context);
    return process;
  }

  async pids(context: CallContext): Promise<ProcessInfo[]> {
    const response = await this.shim.listPids({ id: this.id }, this.options(context));
    return response.processes.map((process) => ({ pid: process.pid, info: process.info }));
  }

  async checkpoint(context: CallContext, path: string, options?: Any): Promise<void> {
    await this.shim.checkpoint({ path, options }, this.options(context));
    await this.publish(context, "/tasks/checkpointed", eventAny("TaskCheckpointed", events.TaskCheckpointed, { containerId: this.id }));
  }

  /** Resources only: the v1 shim has no annotations to update. */
  async update(context: CallContext, resources: Any | undefined): Promise<void> {
    await this.shim.update({ resources }, this.options(context));
  }

  /** Read by the daemon from the init process's cgroup, as containerd's v1 runtime does (the shim has no Stats). */
  async stats(): Promise<Any> {
    if (this.pid === 0) throw failedPrecondition(`task ${this.id} has no process`);
    return cgroupMetricsOfPid(this.pid);
  }
}
