import { type Any, type CallContext, type Mount, type Timestamp, goZeroTime } from "@berth/api";
import * as tasksV1 from "@berth/api/gen/containerd/services/tasks/v1/tasks";
import * as taskTypes from "@berth/api/gen/containerd/types/task/task";
import type { ServiceClient } from "@berth/api/services";
import type { LayerDescriptor } from "./diff.js";

export type TaskStatus = "unknown" | "created" | "running" | "stopped" | "paused" | "pausing";

const statusFromWire: Record<number, TaskStatus> = {
  [taskTypes.Status.UNKNOWN]: "unknown",
  [taskTypes.Status.CREATED]: "created",
  [taskTypes.Status.RUNNING]: "running",
  [taskTypes.Status.STOPPED]: "stopped",
  [taskTypes.Status.PAUSED]: "paused",
  [taskTypes.Status.PAUSING]: "pausing",
};

/** A task's or exec process's state as the Tasks service reports it. */
export interface ProcessStatus {
  /** The container id for an init process, the exec id for an exec process. */
  readonly id: string;
  readonly pid: number;
  readonly status: TaskStatus;
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly terminal: boolean;
  readonly exitStatus: number;
  readonly exitedAt: Timestamp;
}

/** How a process ended: its exit code (128 + signal when killed by one) and when. */
export interface ExitStatus {
  readonly exitStatus: number;
  readonly exitedAt: Timestamp;
}

export interface DeletedProcess extends ExitStatus {
  readonly id: string;
  readonly pid: number;
}

/** Where a process's stdio goes (FIFO paths or URIs; "" for none). */
export interface ProcessIO {
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly terminal: boolean;
}

export interface NewTask extends ProcessIO {
  readonly containerId: string;
  readonly rootfs: readonly Mount[];
  /** Runtime options for this task, overriding the container's. */
  readonly options?: Any | undefined;
  readonly runtimePath?: string | undefined;
  /** A task checkpoint (`…criu.checkpoint.criu.tar`) to restore the task from. */
  readonly checkpoint?: LayerDescriptor | undefined;
}

export interface TaskMetric {
  readonly id: string;
  readonly timestamp: Timestamp;
  /** `io.containerd.cgroups.v1.Metrics` or `io.containerd.cgroups.v2.Metrics`. */
  readonly data: Any | undefined;
}

function processOf(process: taskTypes.Process | undefined): ProcessStatus {
  return {
    id: process?.id ?? "",
    pid: process?.pid ?? 0,
    status: statusFromWire[process?.status ?? 0] ?? "unknown",
    stdin: process?.stdin ?? "",
    stdout: process?.stdout ?? "",
    stderr: process?.stderr ?? "",
    terminal: process?.terminal ?? false,
    exitStatus: process?.exitStatus ?? 0,
    exitedAt: process?.exitedAt ?? goZeroTime,
  };
}

const exitOf = (response: { exitStatus: number; exitedAt: Timestamp | undefined }): ExitStatus => ({
  exitStatus: response.exitStatus,
  exitedAt: response.exitedAt ?? goZeroTime,
});

/**
 * A daemon's Tasks service (containerd's `containerd.services.tasks.v1.Tasks`). Processes are
 * named by container id and, for exec processes, exec id ("" = the init process).
 */
export class TasksProxy {
  constructor(private readonly service: ServiceClient<typeof tasksV1.TasksDefinition>) {}

  /** Creates (does not start) the task; resolves to its init pid. */
  async create(context: CallContext, task: NewTask): Promise<number> {
    const { containerId, rootfs, stdin, stdout, stderr, terminal } = task;
    const request = {
      containerId,
      rootfs: rootfs.map((m) => ({ type: m.type, source: m.source, target: m.target ?? "", options: [...m.options] })),
      stdin,
      stdout,
      stderr,
      terminal,
      checkpoint: task.checkpoint === undefined ? undefined : { ...task.checkpoint, annotations: { ...(task.checkpoint.annotations ?? {}) } },
      options: task.options,
      runtimePath: task.runtimePath ?? "",
    };
    return (await this.service.create(request, context)).pid;
  }

  async start(context: CallContext, containerId: string, execId = ""): Promise<number> {
    return (await this.service.start({ containerId, execId }, context)).pid;
  }

  async get(context: CallContext, containerId: string, execId = ""): Promise<ProcessStatus> {
    return processOf((await this.service.get({ containerId, execId }, context)).process);
  }

  async list(context: CallContext): Promise<ProcessStatus[]> {
    return (await this.service.list({ filter: "" }, context)).tasks.map(processOf);
  }

  /** Resolves when the process has exited (at once if it has); works before `start`. */
  async wait(context: CallContext, containerId: string, execId = ""): Promise<ExitStatus> {
    return exitOf(await this.service.wait({ containerId, execId }, context));
  }

  async kill(context: CallContext, containerId: string, signal: number, options: { execId?: string; all?: boolean } = {}): Promise<void> {
    await this.service.kill({ containerId, execId: options.execId ?? "", signal, all: options.all ?? false }, context);
  }

  async delete(context: CallContext, containerId: string): Promise<DeletedProcess> {
    const response = await this.service.delete({ containerId }, context);
    return { id: response.id, pid: response.pid, ...exitOf(response) };
  }

  async deleteProcess(context: CallContext, containerId: string, execId: string): Promise<DeletedProcess> {
    const response = await this.service.deleteProcess({ containerId, execId }, context);
    return { id: response.id, pid: response.pid, ...exitOf(response) };
  }

  /** Adds an exec process; `spec` is the JSON OCI Process under `…/runtime-spec/1/Process`. */
  async exec(context: CallContext, containerId: string, execId: string, spec: Any, io: ProcessIO): Promise<void> {
    await this.service.exec({ containerId, execId, spec, ...io }, context);
  }

  async pause(context: CallContext, containerId: string): Promise<void> {
    await this.service.pause({ containerId }, context);
  }

  async resume(context: CallContext, containerId: string): Promise<void> {
    await this.service.resume({ containerId }, context);
  }

  async listPids(context: CallContext, containerId: string): Promise<{ pid: number; info: Any | undefined }[]> {
    return (await this.service.listPids({ containerId }, context)).processes;
  }

  async resizePty(context: CallContext, containerId: string, size: { width: number; height: number }, execId = ""): Promise<void> {
    await this.service.resizePty({ containerId, execId, ...size }, context);
  }

  async closeIO(context: CallContext, containerId: string, execId = ""): Promise<void> {
    await this.service.closeIO({ containerId, execId, stdin: true }, context);
  }

  /**
   * Checkpoints the task (Tasks.Checkpoint). `options` is the runtime's (runc: `containerd.runc.v1.CheckpointOptions`);
   * the descriptors are the checkpoint's blobs in the content store (none when the options name an image path).
   */
  async checkpoint(context: CallContext, containerId: string, options?: Any, parentCheckpoint = ""): Promise<LayerDescriptor[]> {
    const response = await this.service.checkpoint({ containerId, parentCheckpoint, options }, context);
    return response.descriptors.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size, annotations: d.annotations }));
  }

  async update(context: CallContext, containerId: string, resources: Any | undefined, annotations: Readonly<Record<string, string>> = {}): Promise<void> {
    await this.service.update({ containerId, resources, annotations: { ...annotations } }, context);
  }

  async metrics(context: CallContext, filters: readonly string[]): Promise<TaskMetric[]> {
    return (await this.service.metrics({ filters: [...filters] }, context)).metrics.map((m) => ({
      id: m.id,
      timestamp: m.timestamp ?? goZeroTime,
      data: m.data,
    }));
  }
}
