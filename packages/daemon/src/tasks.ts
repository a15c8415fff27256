import {
  type Any,
  type CallContext,
  type Container,
  type ContainerStore,
  type Exit,
  type Mount,
  type ProcessState,
  type Runtime,
  type RuntimeProcess,
  type RuntimeTask,
  type Snapshotter,
  type TaskIO,
  type Timestamp,
  goZeroTime,
  invalidArgument,
  isKind,
  notFound,
  nowTimestamp,
  requireNamespace,
} from "@berth/api";
import { adaptObject, parseFilters } from "@berth/filters";
import type { Logger } from "./log.js";

export interface NewTask {
  readonly containerId: string;
  readonly rootfs: readonly Mount[];
  readonly io: TaskIO;
  /** Per-task runtime options, overriding the container's. */
  readonly options?: Any | undefined;
  /** A shim binary to use instead of the one for the container's runtime. */
  readonly runtimePath?: string | undefined;
  /** A directory holding the CRIU image to restore the task from (see `TaskCheckpoints`). */
  readonly checkpoint?: string | undefined;
}

export interface TaskMetric {
  readonly id: string;
  readonly timestamp: Timestamp;
  readonly data: Any;
}

/** How long a state query may take before a task is reported UNKNOWN (containerd's 2 s). */
const stateTimeoutMs = 2_000;

/**
 * The daemon's Tasks service: containerd's `services/tasks` semantics over the container records
 * and a runtime. Every call resolves the container first (NotFound), then its task ("task X not
 * found"). Task events come from the shims, which forward them to the daemon's ttrpc socket.
 */
export class TaskService {
  constructor(
    private readonly containers: ContainerStore,
    private readonly runtime: Runtime,
    private readonly snapshotters: ReadonlyMap<string, Snapshotter>,
    private readonly logger: Logger,
  ) {}

  async create(context: CallContext, request: NewTask): Promise<{ containerId: string; pid: number }> {
    const container = await this.containers.get(context, request.containerId);
    if (container.spec === undefined) throw invalidArgument(`container ${request.containerId}: spec must be set`);
    const rootfs = request.rootfs.length > 0 ? request.rootfs : await this.#snapshotMounts(context, container);
    const task = await this.runtime.create(context, container.id, {
      spec: container.spec,
      rootfs,
      io: request.io,
      runtime: request.runtimePath || container.runtime.name,
      runtimeOptions: container.runtime.options,
      taskOptions: request.options,
      checkpoint: request.checkpoint,
    });
    return { containerId: container.id, pid: task.pid };
  }

  /** The container's snapshot mounts, for a create that names no rootfs (NotFound when the snapshot is gone). */
  async #snapshotMounts(context: CallContext, container: Container): Promise<Mount[]> {
    if (container.snapshotKey === "") return [];
    const snapshotter = this.snapshotters.get(container.snapshotter);
    if (snapshotter === undefined) throw notFound(`snapshotter ${JSON.stringify(container.snapshotter)} of container ${container.id}`);
    return snapshotter.mounts(context, container.snapshotKey);
  }

  async task(context: CallContext, containerId: string): Promise<RuntimeTask> {
    const container = await this.containers.get(context, containerId);
    try {
      return await this.runtime.get(context, container.id);
    } catch (error) {
      if (isKind(error, "NotFound")) throw notFound(`task ${container.id} not found`);
      throw error;
    }
  }

  /** The init process when `execId` is "", else that exec process (NotFound when absent). */
  async process(context: CallContext, containerId: string, execId: string): Promise<RuntimeProcess> {
    const task = await this.task(context, containerId);
    return execId === "" ? task : task.process(context, execId);
  }

  /**
   * A process's state as Get and List report it: NotFound passes through, any other failure (a shim
   * that does not answer in time) reports UNKNOWN with the process's id.
   */
  async state(context: CallContext, process: RuntimeProcess): Promise<ProcessState> {
    const signal = AbortSignal.any([AbortSignal.timeout(stateTimeoutMs), ...(context.signal ? [context.signal] : [])]);
    try {
      return await process.state({ ...context, signal });
    } catch (error) {
      if (isKind(error, "NotFound")) throw error;
      this.logger.error({ id: process.id, err: error }, "get state");
      return { id: process.id, status: "unknown", pid: 0, stdin: "", stdout: "", stderr: "", terminal: false, exitStatus: 0, exitedAt: goZeroTime };
    }
  }

  async list(context: CallContext): Promise<ProcessState[]> {
    const states: ProcessState[] = [];
    for (const task of await this.runtime.tasks(context)) {
      try {
        states.push(await this.state(context, task));
      } catch {
        // Deleted while listing.
      }
    }
    return states;
  }

  async delete(context: CallContext, containerId: string): Promise<Exit> {
    const task = await this.task(context, containerId);
    return this.runtime.delete(context, task.id);
  }

  async exec(context: CallContext, containerId: string, execId: string, spec: Any | undefined, io: TaskIO): Promise<void> {
    if (execId === "") throw invalidArgument("exec id cannot be empty");
    if (spec === undefined) throw invalidArgument("spec: must be set for exec");
    const task = await this.task(context, containerId);
    await task.exec(context, execId, { spec, io });
  }

  /** Stats of the namespace's tasks that match `filters` (fields `id`, `namespace`, `runtime`); tasks whose stats fail are left out. */
  async metrics(context: CallContext, filters: readonly string[]): Promise<TaskMetric[]> {
    const namespace = requireNamespace(context);
    const filter = parseFilters(filters);
    const metrics: TaskMetric[] = [];
    for (const task of await this.runtime.tasks(context)) {
      if (!filter.match(adaptObject({ id: task.id, namespace, runtime: task.runtime }))) continue;
      const timestamp = nowTimestamp();
      try {
        metrics.push({ id: task.id, timestamp, data: await task.stats(context) });
      } catch (error) {
        if (!isKind(error, "NotFound")) this.logger.error({ id: task.id, err: error }, "collecting metrics");
      }
    }
    return metrics;
  }
}
