import { type Any, type MessageType, alreadyExists, invalidArgument, notFound, notImplemented, unpackJson, validateIdentifier } from "@berth/api";
import * as events from "@berth/api/gen/containerd/events/events";
import * as runcV1 from "@berth/api/gen/containerd/runc/v1/options";
import * as taskV2 from "@berth/api/gen/containerd/task/v2/shim";
import { decodeCheckpointOptions } from "./checkpoint.js";
import { Container, type ContainerHost } from "./container.js";
import type { EventQueue } from "./events.js";
import { OomWatcher } from "./oom.js";
import { type RuncOptions, decodeRuncOptions, runcRoot, writeOptions } from "./options.js";
import type { ShimProcess } from "./process.js";
import type { Exit, Reaper } from "./reaper.js";

/** Reads a container's cgroup statistics (by its init's pid) as a cgroups Metrics Any. */
export type StatsReader = (pid: number) => Promise<Any>;

export interface TaskServiceOptions {
  readonly namespace: string;
  /** The daemon's gRPC address (the `-address` flag), for runc's default root (see `runcRoot`). */
  readonly daemonAddress: string;
  readonly reaper: Reaper;
  readonly events: EventQueue;
  readonly stats?: StatsReader;
  /** Called whenever the shim may have become idle (no container left). */
  readonly onIdle?: () => void;
}

function pack<T>(typeUrl: string, type: MessageType<T>, message: T): Any {
  return { typeUrl, value: Buffer.from(type.encode(message).finish()) };
}

/**
 * containerd's `containerd.task.v2.Task` service for every container of this shim's group, as
 * containerd's runc shim implements it; requests and responses are the generated taskV2 types.
 */
export class TaskService implements ContainerHost {
  readonly #containers = new Map<string, Container>();
  readonly reaper: Reaper;
  readonly #oom = new OomWatcher((containerId) => this.#publish("/tasks/oom", "TaskOOM", events.TaskOOM, { containerId }));

  constructor(private readonly options: TaskServiceOptions) {
    this.reaper = options.reaper;
  }

  get size(): number {
    return this.#containers.size;
  }

  /** The bundles of the containers served, oldest first. */
  get bundles(): string[] {
    return [...this.#containers.values()].map((container) => container.bundle);
  }

  #container(id: string): Container {
    const container = this.#containers.get(id);
    if (container === undefined) throw notFound("container not created");
    return container;
  }

  #publish<T>(topic: string, name: string, type: MessageType<T>, message: T): void {
    this.options.events.publish(topic, pack(`containerd.events.${name}`, type, message));
  }

  started(container: Container, process: ShimProcess): void {
    // From Start on: a restored init has no pid before.
    if (process.isInit) this.#oom.watch(container.id, process.pid);
    if (process.isInit) this.#publish("/tasks/start", "TaskStart", events.TaskStart, { containerId: container.id, pid: process.pid });
    else
      this.#publish("/tasks/exec-started", "TaskExecStarted", events.TaskExecStarted, { containerId: container.id, execId: process.execId, pid: process.pid });
  }

  exited(container: Container, process: ShimProcess, exit: Exit): void {
    if (process.isInit) this.#oom.check(container.id);
    this.#publish("/tasks/exit", "TaskExit", events.TaskExit, {
      containerId: container.id,
      id: process.id,
      pid: process.pid,
      exitStatus: exit.status,
      exitedAt: exit.exitedAt,
    });
  }

  async create(request: taskV2.CreateTaskRequest): Promise<taskV2.CreateTaskResponse> {
    validateIdentifier(request.id, "id");
    if (this.#containers.has(request.id)) throw alreadyExists(`container ${request.id}`);
    const options: RuncOptions = decodeRuncOptions(request.options);
    writeOptions(request.bundle, options);
    const container = await Container.create(
      {
        id: request.id,
        bundle: request.bundle,
        rootfs: request.rootfs,
        stdin: request.stdin,
        stdout: request.stdout,
        stderr: request.stderr,
        terminal: request.terminal,
        options,
        runcRoot: runcRoot(options, request.bundle, this.options.daemonAddress, this.options.namespace),
        namespace: this.options.namespace,
        checkpoint: request.checkpoint,
        parentCheckpoint: request.parentCheckpoint,
      },
      this,
    );
    this.#containers.set(request.id, container);
    this.#publish("/tasks/create", "TaskCreate", events.TaskCreate, {
      containerId: request.id,
      bundle: request.bundle,
      rootfs: request.rootfs,
      io: { stdin: request.stdin, stdout: request.stdout, stderr: request.stderr, terminal: request.terminal },
      checkpoint: request.checkpoint,
      pid: container.init.pid,
    });
    return { pid: container.init.pid };
  }

  async start(request: taskV2.StartRequest): Promise<taskV2.StartResponse> {
    const process = await this.#container(request.id).start(request.execId);
    return { pid: process.pid };
  }

  async state(request: taskV2.StateRequest): Promise<taskV2.StateResponse> {
    const container = this.#container(request.id);
    return container.process(request.execId).state(container.bundle);
  }

  async wait(request: taskV2.WaitRequest): Promise<taskV2.WaitResponse> {
    const exit = await this.#container(request.id).process(request.execId).wait();
    return { exitStatus: exit.status, exitedAt: exit.exitedAt };
  }

  async kill(request: taskV2.KillRequest): Promise<void> {
    await this.#container(request.id).kill(request.execId, request.signal, request.all);
  }

  async delete(request: taskV2.DeleteRequest): Promise<taskV2.DeleteResponse> {
    const container = this.#container(request.id);
    const process = await container.delete(request.execId);
    const response = { pid: process.pid, exitStatus: process.exit?.status ?? 0, exitedAt: process.state(container.bundle).exitedAt };
    if (process.isInit) {
      this.#containers.delete(request.id);
      this.#oom.unwatch(request.id);
      // containerd 1.6's shim leaves TaskDelete.id empty.
      this.#publish("/tasks/delete", "TaskDelete", events.TaskDelete, { containerId: container.id, id: "", ...response });
      this.options.onIdle?.();
    }
    return response;
  }

  async exec(request: taskV2.ExecProcessRequest): Promise<void> {
    validateIdentifier(request.execId, "exec_id");
    const container = this.#container(request.id);
    if (request.spec === undefined) throw invalidArgument(`exec ${request.execId}: spec is required`);
    const spec = unpackJson(request.spec);
    container.addExec(request.execId, { stdin: request.stdin, stdout: request.stdout, stderr: request.stderr, terminal: request.terminal }, spec);
    this.#publish("/tasks/exec-added", "TaskExecAdded", events.TaskExecAdded, { containerId: container.id, execId: request.execId });
  }

  async pause(request: taskV2.PauseRequest): Promise<void> {
    await this.#container(request.id).pause();
    this.#publish("/tasks/paused", "TaskPaused", events.TaskPaused, { containerId: request.id });
  }

  async resume(request: taskV2.ResumeRequest): Promise<void> {
    await this.#container(request.id).resume();
    this.#publish("/tasks/resumed", "TaskResumed", events.TaskResumed, { containerId: request.id });
  }

  async pids(request: taskV2.PidsRequest): Promise<taskV2.PidsResponse> {
    const pids = await this.#container(request.id).pids();
    return {
      processes: pids.map(({ pid, execId }) => ({
        pid,
        info: execId === undefined ? undefined : pack("containerd.runc.v1.ProcessDetails", runcV1.ProcessDetails, { execId }),
      })),
    };
  }

  async closeIO(request: taskV2.CloseIORequest): Promise<void> {
    const process = this.#container(request.id).process(request.execId);
    if (request.stdin) process.io?.closeStdin();
  }

  async resizePty(request: taskV2.ResizePtyRequest): Promise<void> {
    const process = this.#container(request.id).process(request.execId);
    process.io?.resize(request.width, request.height);
  }

  async update(request: taskV2.UpdateTaskRequest): Promise<void> {
    const container = this.#container(request.id);
    if (request.resources === undefined) return;
    await container.update(Buffer.from(request.resources.value).toString("utf8"));
  }

  async stats(request: taskV2.StatsRequest): Promise<taskV2.StatsResponse> {
    const container = this.#container(request.id);
    if (this.options.stats === undefined) throw notImplemented("stats: no cgroup reader");
    return { stats: await this.options.stats(container.init.pid) };
  }

  async connect(request: taskV2.ConnectRequest): Promise<taskV2.ConnectResponse> {
    const container = this.#containers.get(request.id);
    return { shimPid: process.pid, taskPid: container?.init.pid ?? 0, version: "" };
  }

  async checkpoint(request: taskV2.CheckpointTaskRequest): Promise<void> {
    const container = this.#container(request.id);
    if (request.path === "") throw invalidArgument("path: the checkpoint's image path must be set");
    await container.checkpoint(request.path, decodeCheckpointOptions(request.options));
  }

  /** containerd asks every shim to shut down after a delete; the shim stays while it serves containers. */
  async shutdown(_request: taskV2.ShutdownRequest): Promise<void> {
    this.options.onIdle?.();
  }
}
