import { join } from "node:path";
import {
  type CallContext,
  type CreateTaskOptions,
  type Exit,
  type Publisher,
  type Runtime,
  type RuntimeTask,
  type Subscriber,
  alreadyExists,
  dateFromTimestamp,
  failedPrecondition,
  goZeroTime,
  isKind,
  notFound,
  nowTimestamp,
  requireNamespace,
  validateIdentifier,
} from "@berth/api";
import { events, type linuxRunc, shimV1 } from "@berth/api/proto";
import { TtrpcClient, ttrpcServiceClient } from "@berth/ttrpc";
import { joinCgroup } from "../cgroups/join.js";
import { Bundle, type RuntimeLogger, heldTask, heldTasks, lookup, shimBinaryName, subdirectories, validateSpec } from "@berth/runtime";
import { linuxShimPlatform } from "../v2/linux-platform.js";
import { type RuncCommand, deleteBundle, forceDeleteContainer, killAndWait, killProcess, readPid, readRunc, saveRunc } from "./bundle-state.js";
import { type ShimLaunch, followShimLogs, launchShim, shimAddress, socketPathOfAddress } from "./launch.js";
import { ExitWatch } from "./exit-watch.js";
import { createOptionsOf, runcOptionsOf } from "./options.js";
import { type ShimV1Service, type TaskEventPublisher, V1Task, eventAny } from "./task.js";

export interface LinuxRuntimeOptions {
  /** Bundles live under `<state>/<namespace>/<id>` (`<berthd state>/io.containerd.runtime.v1.linux`). */
  readonly state: string;
  /** Work directories (the shim's log FIFOs) live under `<root>/<namespace>/<id>`. */
  readonly root: string;
  /** The daemon's gRPC socket (`-address`): the shim publishes events there through `containerdBinary publish`. */
  readonly address: string;
  /** The daemon's executable, with a `publish` command as containerd's. */
  readonly containerdBinary: string;
  /** Where the shims' sockets go (containerd: `/run/containerd/s`). */
  readonly socketDirectory: string;
  /** The shim binary, a path or a name looked up on $PATH (default `containerd-shim`). */
  readonly shim?: string;
  /** The OCI runtime binary tasks get unless their RuncOptions name one (default `runc`). */
  readonly runtime?: string;
  /** runc's root for tasks whose RuncOptions give none; each namespace has a directory below it. */
  readonly runtimeRoot: string;
  /** The daemon publishes create, start, delete, pause, resume and checkpoint; exits come from the shims. */
  readonly publisher?: Publisher;
  /** Where the shims' exits arrive (the daemon's exchange): a delete publishes after the task's exit. */
  readonly events?: Subscriber;
  readonly logger?: RuntimeLogger;
  /** The shim's `-debug`, and its log lines in the daemon's log. */
  readonly shimDebug?: boolean;
}

export const linuxRuntimeName = "io.containerd.runtime.v1.linux";

interface Held {
  readonly bundle: Bundle;
  readonly client: TtrpcClient;
  readonly task: V1Task;
  readonly stopLogs: () => void;
  /** Set once the runtime itself ends the connection (delete, close): its end is no death. */
  letGo: boolean;
}

/**
 * containerd's runtime v1 (`io.containerd.runtime.v1.linux`): one stock `containerd-shim` per
 * task, started by the daemon with its socket passed as fd 3 and driven over the ttrpc API
 * `containerd.runtime.linux.shim.v1.Shim`. The daemon publishes the task events the shim does not
 * (the shim reports exits through `<daemon> publish`), finds its shims again through the bundles
 * after a restart, and cleans up after a shim that died (runc's state, the rootfs, exit 137).
 */
export class LinuxRuntime implements Runtime {
  readonly id = linuxRuntimeName;
  readonly #tasks = new Map<string, Held>();
  readonly #reserved = new Set<string>();
  readonly #exits: ExitWatch | undefined;
  readonly #openedAt = Date.now();
  #closed = false;

  private constructor(private readonly options: LinuxRuntimeOptions) {
    this.#exits = options.events === undefined ? undefined : new ExitWatch(options.events, options.logger);
  }

  static async open(options: LinuxRuntimeOptions): Promise<LinuxRuntime> {
    const runtime = new LinuxRuntime(options);
    await runtime.#loadExisting();
    return runtime;
  }

  async create(context: CallContext, taskId: string, options: CreateTaskOptions): Promise<RuntimeTask> {
    const namespace = requireNamespace(context);
    validateIdentifier(taskId, "id");
    if (options.runtime !== linuxRuntimeName) {
      shimBinaryName(options.runtime);
      throw notFound(`runtime ${JSON.stringify(options.runtime)} is not served by ${linuxRuntimeName}`);
    }
    const key = `${namespace}/${taskId}`;
    if (this.#tasks.has(key) || this.#reserved.has(key)) throw alreadyExists(`task ${taskId}`);
    this.#reserved.add(key);
    try {
      return await this.#create(context, namespace, taskId, options);
    } finally {
      this.#reserved.delete(key);
    }
  }

  async #create(context: CallContext, namespace: string, taskId: string, options: CreateTaskOptions): Promise<RuntimeTask> {
    validateSpec(options.spec);
    const runc = runcOptionsOf(options.runtimeOptions);
    const createOptions = createOptionsOf(options.taskOptions);
    const binary = this.#shimBinary();
    this.#exits?.follow();
    const bundle = await Bundle.create(this.options.state, this.options.root, namespace, taskId, options.spec.value, linuxShimPlatform.unmountRootfs, {
      linkWork: false,
    });
    const runcOf = this.#runcOf(runc);
    let stopLogs: (() => void) | undefined;
    let client: TtrpcClient | undefined;
    let shimPid: number | undefined;
    let held: Held;
    try {
      await saveRunc(bundle, runcOf);
      stopLogs = followShimLogs(bundle, this.options.logger, this.options.shimDebug ?? false);
      const address = shimAddress(this.options.socketDirectory, this.options.address, namespace, taskId);
      shimPid = (await launchShim(this.#launch(binary, runc), bundle, address)).pid;
      if (createOptions?.shimCgroup) joinCgroup(createOptions.shimCgroup, shimPid);
      client = await TtrpcClient.connect(address);
      const shim = this.#service(client, namespace);
      const rootfs = options.rootfs.map((mount) => ({ type: mount.type, source: mount.source, target: mount.target ?? "", options: [...mount.options] }));
      const request = {
        id: taskId,
        bundle: bundle.path,
        runtime: runcOf.binary,
        rootfs,
        terminal: options.io.terminal,
        stdin: options.io.stdin,
        stdout: options.io.stdout,
        stderr: options.io.stderr,
        checkpoint: options.checkpoint ?? "",
        parentCheckpoint: "",
        options: createOptions === undefined ? undefined : options.taskOptions,
      };
      const { pid } = await shim.create(request, { signal: context.signal });
      held = { bundle, client, stopLogs, letGo: false, task: new V1Task(shim, this.#publishTaskEvent, namespace, taskId, pid) };
      const io = { stdin: request.stdin, stdout: request.stdout, stderr: request.stderr, terminal: request.terminal };
      const created = { containerId: taskId, bundle: bundle.path, rootfs, io, checkpoint: request.checkpoint, pid };
      await this.#publishTaskEvent(context, "/tasks/create", eventAny("TaskCreate", events.TaskCreate, created));
    } catch (error) {
      client?.close();
      if (shimPid !== undefined) killProcess(shimPid);
      stopLogs?.();
      await forceDeleteContainer(bundle, runcOf, this.options.logger);
      await deleteBundle(bundle);
      throw error;
    }
    this.#track(held);
    this.options.logger?.debug({ namespace, id: taskId, pid: held.task.pid }, "v1 task created");
    return held.task;
  }

  async get(context: CallContext, taskId: string): Promise<RuntimeTask> {
    return heldTask(this.#tasks, context, taskId).task;
  }

  async tasks(context: CallContext, all = false): Promise<RuntimeTask[]> {
    return heldTasks(this.#tasks, context, all);
  }

  /**
   * Deletes a stopped (or never started) task: the shim's Delete (runc delete, rootfs unmounted),
   * then the shim is killed, the bundle removed and `/tasks/delete` published.
   */
  async delete(context: CallContext, taskId: string): Promise<Exit> {
    const held = heldTask(this.#tasks, context, taskId);
    const namespace = held.bundle.namespace;
    const key = `${namespace}/${taskId}`;
    const state = await held.task.state(context);
    if (state.status === "running" || state.status === "paused" || state.status === "pausing") {
      throw failedPrecondition(`task ${taskId} must be stopped before deletion: ${state.status}`);
    }
    const shim = this.#service(held.client, namespace);
    let response;
    try {
      response = await shim.delete({}, { signal: context.signal });
    } catch (error) {
      if (!isKind(error, "NotFound")) throw error;
    }
    this.#tasks.delete(key);
    held.letGo = true;
    await this.#killShim(held);
    await deleteBundle(held.bundle);
    if (response === undefined) throw notFound(`task ${taskId}: the shim has no such task`);
    const exit = { pid: response.pid, status: response.exitStatus, timestamp: response.exitedAt ?? goZeroTime };
    // An exit from before this daemon started was published to nobody.
    if (state.status === "stopped" && dateFromTimestamp(state.exitedAt).getTime() >= this.#openedAt) await this.#exits?.reported(namespace, taskId);
    const deleted = { containerId: taskId, pid: exit.pid, exitStatus: exit.status, exitedAt: exit.timestamp };
    await this.#publishTaskEvent(context, "/tasks/delete", eventAny("TaskDelete", events.TaskDelete, deleted));
    this.options.logger?.debug({ namespace, id: taskId, exitStatus: exit.status }, "v1 task deleted");
    return exit;
  }

  /** Lets go of every shim without stopping any: their containers keep running for the next daemon. */
  close(): void {
    this.#closed = true;
    this.#exits?.close();
    for (const held of this.#tasks.values()) {
      held.letGo = true;
      held.client.close();
      held.stopLogs();
    }
    this.#tasks.clear();
  }

  readonly #publishTaskEvent: TaskEventPublisher = async (context, topic, event) => {
    await this.options.publisher?.publish(context, topic, event).catch((error: unknown) => {
      this.options.logger?.warn({ topic, err: error }, "publishing a task event failed");
    });
  };

  #service(client: TtrpcClient, namespace: string): ShimV1Service {
    return ttrpcServiceClient(shimV1.ShimDefinition, client, { namespace });
  }

  #shimBinary(): string {
    const name = this.options.shim ?? "containerd-shim";
    const found = name.startsWith("/") ? name : lookup(name, this.options.containerdBinary);
    if (found === undefined) throw notFound(`runtime ${linuxRuntimeName}: shim binary ${JSON.stringify(name)} not installed`);
    return found;
  }

  #runcOf(runc: linuxRunc.RuncOptions): RuncCommand {
    return { binary: runc.runtime || (this.options.runtime ?? "runc"), root: runc.runtimeRoot || this.options.runtimeRoot };
  }

  #launch(binary: string, runc: linuxRunc.RuncOptions): ShimLaunch {
    return {
      binary,
      daemonAddress: this.options.address,
      containerdBinary: this.options.containerdBinary,
      runtimeRoot: this.#runcOf(runc).root,
      systemdCgroup: runc.systemdCgroup,
      debug: this.options.shimDebug,
    };
  }

  #track(held: Held): void {
    this.#tasks.set(`${held.bundle.namespace}/${held.bundle.id}`, held);
    void held.client.closed.then(() => {
      if (held.letGo || this.#closed) return;
      this.options.logger?.warn({ namespace: held.bundle.namespace, id: held.bundle.id }, "v1 shim disconnected");
      void this.#cleanupAfterDeadShim(held.bundle, held);
    });
  }

  /** Kills the shim (SIGKILL, as containerd) and waits, bounded, for it to be gone. */
  async #killShim(held: Held): Promise<void> {
    const pid = await readPid(held.bundle, "shim.pid");
    held.client.close();
    held.stopLogs();
    if (pid !== undefined) await killAndWait(pid);
  }

  /**
   * After a shim died (or could not be reached again), as containerd: runc's state is force-deleted,
   * the rootfs unmounted, `/tasks/exit` and `/tasks/delete` published with 137 (SIGKILL), the
   * bundle removed and the shim, should it still run, killed.
   */
  async #cleanupAfterDeadShim(bundle: Bundle, held?: Held): Promise<void> {
    const key = `${bundle.namespace}/${bundle.id}`;
    if (held !== undefined) {
      if (this.#tasks.get(key) !== held) return;
      this.#tasks.delete(key);
      this.#exits?.forget(bundle.namespace, bundle.id);
      held.letGo = true;
      held.client.close();
      held.stopLogs();
    }
    const context: CallContext = { namespace: bundle.namespace };
    const pid = (await readPid(bundle, "init.pid")) ?? 0;
    const runc = await readRunc(bundle, this.#runcOf(runcOptionsOf(undefined)));
    await forceDeleteContainer(bundle, runc, this.options.logger);
    const exit = { pid, exitStatus: 128 + 9, exitedAt: nowTimestamp() };
    await this.#publishTaskEvent(context, "/tasks/exit", eventAny("TaskExit", events.TaskExit, { containerId: bundle.id, id: bundle.id, ...exit }));
    const shimPid = await readPid(bundle, "shim.pid");
    await deleteBundle(bundle).catch((error: unknown) =>
      this.options.logger?.warn({ namespace: bundle.namespace, id: bundle.id, err: error }, "delete bundle"),
    );
    if (shimPid !== undefined) killProcess(shimPid);
    await this.#publishTaskEvent(context, "/tasks/delete", eventAny("TaskDelete", events.TaskDelete, { containerId: bundle.id, ...exit }));
    this.options.logger?.warn({ namespace: bundle.namespace, id: bundle.id }, "cleaned up after dead v1 shim");
  }

  /** Finds the tasks of an earlier daemon through their bundles: reconnects, or cleans up after a dead shim. */
  async #loadExisting(): Promise<void> {
    for (const namespace of await subdirectories(this.options.state)) {
      if (namespace.startsWith(".")) continue;
      for (const id of await subdirectories(join(this.options.state, namespace))) {
        if (id.startsWith(".")) continue;
        await this.#reconnect(Bundle.at(this.options.state, this.options.root, namespace, id, linuxShimPlatform.unmountRootfs));
      }
    }
  }

  async #reconnect(bundle: Bundle): Promise<void> {
    this.#exits?.follow();
    const address = await bundle.read("address");
    let client: TtrpcClient | undefined;
    try {
      if (address === undefined) throw notFound("no shim address");
      client = await TtrpcClient.connect(socketPathOfAddress(address.trim()), 5_000);
      const shim = this.#service(client, bundle.namespace);
      await shim.shimInfo({}, { timeoutMs: 5_000 });
      const pid = (await readPid(bundle, "init.pid")) ?? 0;
      const stopLogs = followShimLogs(bundle, this.options.logger, this.options.shimDebug ?? false);
      this.#track({ bundle, client, stopLogs, letGo: false, task: new V1Task(shim, this.#publishTaskEvent, bundle.namespace, bundle.id, pid) });
      this.options.logger?.info({ namespace: bundle.namespace, id: bundle.id, pid }, "reconnected to v1 shim");
    } catch (error) {
      client?.close();
      this.options.logger?.warn({ namespace: bundle.namespace, id: bundle.id, err: error }, "v1 shim did not answer; cleaning up");
      await this.#cleanupAfterDeadShim(bundle);
    }
  }
}
