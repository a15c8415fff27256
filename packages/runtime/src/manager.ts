import { readdir, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import {
  type Any,
  type CallContext,
  type CreateTaskOptions,
  type Exit,
  type Publisher,
  type Runtime,
  type RuntimeTask,
  BerthError,
  alreadyExists,
  failedPrecondition,
  goZeroTime,
  invalidArgument,
  kindOf,
  requireNamespace,
  validateIdentifier,
} from "@berth/api";
import { runcV1, taskV2 } from "@berth/api/proto";
import { type TtrpcClient, ttrpcServiceClient } from "@berth/ttrpc";
import { type ShimInvocation, resolveShimBinary, startShim } from "./binary.js";
import { Bundle } from "./bundle.js";
import { heldTask, heldTasks } from "./held-tasks.js";
import type { ShimPlatform } from "./platform.js";
import { type RuntimeLogger, ShimHandle, cleanupDeadShim, connectShim, followLog, shimDialTimeoutMs, shimGone, shutdownShim } from "./shim.js";

export interface ShimManagerOptions {
  /** Bundles live under `<state>/<namespace>/<id>` (e.g. `<berthd state>/io.containerd.runtime.v2.task`). */
  readonly state: string;
  /** Work directories live under `<root>/<namespace>/<id>`. */
  readonly root: string;
  /** The daemon's gRPC socket, passed to shims as `-address`. */
  readonly address: string;
  /** The daemon's ttrpc socket that shims forward events to (`TTRPC_ADDRESS`). */
  readonly ttrpcAddress: string;
  /** The daemon's executable (`-publish-binary`). */
  readonly publishBinary?: string;
  /** Shim binary per runtime name, before the search on $PATH (e.g. `io.containerd.runc.v2` → a path). */
  readonly runtimes?: Readonly<Record<string, string>>;
  /** runc's state root for runc tasks created without one in their options. */
  readonly runcRoot: string;
  /** Where the exits of shims that died are published (`/tasks/exit`, `/tasks/delete`). */
  readonly publisher?: Publisher;
  readonly logger?: RuntimeLogger;
  readonly debug?: boolean;
  /** What differs between Linux and Windows: binary names, the shim's log, dialing, sockets, unmounting. */
  readonly platform: ShimPlatform;
}

const runcOptionsType = "containerd.runc.v1.Options";
/** The bundle file that remembers a task's runtime name across daemon restarts. */
const runtimeNameFile = "runtime-name";

/**
 * The shim v2 runtime (containerd's `io.containerd.runtime.v2.task`): one shim per task, started
 * with `<shim> start`, driven over ttrpc, cleaned up with `<shim> delete` when it dies, and found
 * again through the bundles after a daemon restart.
 */
export class ShimManager implements Runtime {
  readonly id = "io.containerd.runtime.v2.task";
  readonly #shims = new Map<string, ShimHandle>();
  readonly #reserved = new Set<string>();
  #closed = false;

  private constructor(private readonly options: ShimManagerOptions) {}

  /** A manager that has reconnected to every shim whose bundle survives from an earlier daemon. */
  static async open(options: ShimManagerOptions): Promise<ShimManager> {
    const manager = new ShimManager(options);
    await manager.#loadExisting();
    return manager;
  }

  async create(context: CallContext, taskId: string, options: CreateTaskOptions): Promise<RuntimeTask> {
    const namespace = requireNamespace(context);
    validateIdentifier(taskId, "id");
    const key = `${namespace}/${taskId}`;
    if (this.#shims.has(key) || this.#reserved.has(key)) throw alreadyExists(`task ${taskId}`);
    this.#reserved.add(key);
    try {
      return await this.#create(context, namespace, taskId, options);
    } finally {
      this.#reserved.delete(key);
    }
  }

  async #create(context: CallContext, namespace: string, taskId: string, options: CreateTaskOptions): Promise<RuntimeTask> {
    validateSpec(options.spec);
    const { platform } = this.options;
    const binary = resolveShimBinary(options.runtime, this.options.runtimes, undefined, platform.binaryName);
    const shimOptions = this.#shimOptions(options);
    const bundle = await Bundle.create(this.options.state, this.options.root, namespace, taskId, options.spec.value, platform.unmountRootfs);
    const invocation = this.#invocation(binary, bundle);
    let stopLog: (() => void) | undefined;
    let client: TtrpcClient | undefined;
    let handle: ShimHandle;
    try {
      stopLog = followLog(platform, bundle, this.options.logger);
      const address = await startShim(invocation, shimOptions, undefined, platform.startInDaemon);
      await bundle.write("shim-binary-path", binary);
      await bundle.write(runtimeNameFile, options.runtime);
      // Dialled only, as containerd does: Create is the first call, so a shim server just started
      // answers one request before the task exists instead of two (Connect is for reconnecting).
      client = await platform.dial(address, shimDialTimeoutMs, "start");
      const created = await ttrpcServiceClient(taskV2.TaskDefinition, client, { namespace })
        .create(
          {
            id: taskId,
            bundle: bundle.path,
            rootfs: options.rootfs.map((mount) => ({ type: mount.type, source: mount.source, target: mount.target ?? "", options: [...mount.options] })),
            terminal: options.io.terminal,
            stdin: options.io.stdin,
            stdout: options.io.stdout,
            stderr: options.io.stderr,
            checkpoint: options.checkpoint ?? "",
            parentCheckpoint: "",
            options: shimOptions,
          },
          { signal: context.signal },
        )
        .catch((error: unknown) => {
          // containerd's words for a shim that could not create the task; the kind stays.
          throw new BerthError(kindOf(error), `failed to create shim task: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        });
      handle = new ShimHandle(bundle, invocation, client, stopLog, options.runtime, created.pid);
    } catch (error) {
      await this.#undoCreate(bundle, invocation, client, stopLog);
      throw error;
    }
    this.#track(handle);
    this.options.logger?.debug({ namespace, id: taskId, pid: handle.task.pid }, "task created");
    return handle.task;
  }

  /** Leaves nothing of a failed create: the shim is asked to exit, then cleaned up by its own `delete`. */
  async #undoCreate(bundle: Bundle, invocation: ShimInvocation, client: TtrpcClient | undefined, stopLog: (() => void) | undefined): Promise<void> {
    if (client !== undefined) {
      await ttrpcServiceClient(taskV2.TaskDefinition, client, { namespace: bundle.namespace })
        .delete({ id: bundle.id, execId: "" }, { timeoutMs: 10_000 })
        .catch(() => undefined);
      await shutdownShim(client, bundle.namespace, bundle.id);
    }
    stopLog?.();
    // Only a shim that got as far as writing its address can have left anything (runc state, mounts).
    if ((await bundle.read("address")) !== undefined) {
      await cleanupDeadShim(bundle, invocation, undefined, this.options.logger, 0, this.options.platform.removeSocket);
    } else {
      await bundle.delete();
    }
  }

  async get(context: CallContext, taskId: string): Promise<RuntimeTask> {
    return heldTask(this.#shims, context, taskId).task;
  }

  async tasks(context: CallContext, all = false): Promise<RuntimeTask[]> {
    return heldTasks(this.#shims, context, all);
  }

  async delete(context: CallContext, taskId: string): Promise<Exit> {
    const handle = heldTask(this.#shims, context, taskId);
    const namespace = handle.bundle.namespace;
    const key = `${namespace}/${taskId}`;
    let state;
    try {
      state = await handle.task.state(context);
    } catch (error) {
      if (!shimGone(error)) throw error;
      return this.#forgetDeadShim(handle);
    }
    if (state.status === "running" || state.status === "paused" || state.status === "pausing") {
      throw failedPrecondition(`task ${taskId} must be stopped before deletion: ${state.status}`);
    }
    handle.deleting = true;
    let exit: Exit;
    try {
      const response = await handle.service.delete({ id: taskId, execId: "" }, { signal: context.signal });
      exit = { pid: response.pid, status: response.exitStatus, timestamp: response.exitedAt ?? goZeroTime };
    } catch (error) {
      handle.deleting = false;
      if (!shimGone(error)) throw error;
      return this.#forgetDeadShim(handle);
    }
    this.#shims.delete(key);
    await handle.shutdown();
    await handle.bundle.delete();
    this.options.logger?.debug({ namespace, id: taskId, exitStatus: exit.status }, "task deleted");
    return exit;
  }

  /** Lets go of every shim without stopping any: their containers keep running for the next daemon. */
  close(): void {
    this.#closed = true;
    this.options.platform.close?.();
    for (const handle of this.#shims.values()) handle.detach();
    this.#shims.clear();
  }

  #track(handle: ShimHandle): void {
    this.#shims.set(`${handle.bundle.namespace}/${handle.bundle.id}`, handle);
    handle.watch((dead) => {
      if (this.#closed) return;
      this.options.logger?.warn({ namespace: dead.bundle.namespace, id: dead.bundle.id }, "shim disconnected");
      void this.#forgetDeadShim(dead);
    });
  }

  async #forgetDeadShim(handle: ShimHandle): Promise<Exit> {
    const key = `${handle.bundle.namespace}/${handle.bundle.id}`;
    if (this.#shims.get(key) !== handle) return { pid: handle.task.pid, status: 255, timestamp: goZeroTime };
    this.#shims.delete(key);
    handle.deleting = true;
    handle.client.close();
    handle.stopLog();
    return cleanupDeadShim(handle.bundle, handle.invocation, this.options.publisher, this.options.logger, handle.task.pid, this.options.platform.removeSocket);
  }

  #invocation(binary: string, bundle: Bundle): ShimInvocation {
    return {
      binary,
      namespace: bundle.namespace,
      id: bundle.id,
      bundle: bundle.path,
      address: this.options.address,
      ttrpcAddress: this.options.ttrpcAddress,
      publishBinary: this.options.publishBinary ?? process.argv[1] ?? process.execPath,
      debug: this.options.debug,
      deleteDirectory: this.options.platform.deleteDirectory(bundle.path),
      env: this.options.platform.env?.(bundle),
      cacheDirectory: shimCacheDirectory(this.options.root),
    };
  }

  /**
   * The options a shim gets (stdin of `start`, and Create): the task's, else the container's. runc
   * tasks without a runc root get the manager's, so that no shim falls back to /run/containerd/runc.
   */
  #shimOptions(options: CreateTaskOptions): Any | undefined {
    const given = options.taskOptions ?? options.runtimeOptions;
    if (given === undefined || given.typeUrl === "") {
      if (!options.runtime.startsWith("io.containerd.runc.")) return given;
      return { typeUrl: runcOptionsType, value: Buffer.from(runcV1.Options.encode(runcV1.Options.fromPartial({ root: this.options.runcRoot })).finish()) };
    }
    if (given.typeUrl.replace(/^type\.googleapis\.com\//, "") !== runcOptionsType) return given;
    let runc: runcV1.Options;
    try {
      runc = runcV1.Options.decode(given.value);
    } catch (error) {
      throw invalidArgument(`runtime options: not a ${runcOptionsType}: ${(error as Error).message}`);
    }
    if (runc.root !== "") return given;
    return { typeUrl: given.typeUrl, value: Buffer.from(runcV1.Options.encode({ ...runc, root: this.options.runcRoot }).finish()) };
  }

  /** Finds the tasks of an earlier daemon through their bundles and reconnects, or cleans up after them (§7). */
  async #loadExisting(): Promise<void> {
    for (const namespace of await subdirectories(this.options.state)) {
      for (const id of await subdirectories(join(this.options.state, namespace))) {
        if (id.startsWith(".")) continue;
        await this.#reconnect(Bundle.at(this.options.state, this.options.root, namespace, id, this.options.platform.unmountRootfs));
      }
      await this.#removeOrphanWorkDirs(namespace);
    }
  }

  async #reconnect(bundle: Bundle): Promise<void> {
    const entries = await readdir(bundle.path).catch(() => []);
    if (entries.length === 0) {
      await rmdir(bundle.path).catch(() => undefined);
      return;
    }
    const binary = await bundle.read("shim-binary-path");
    const runtime = (await bundle.read(runtimeNameFile)) ?? "io.containerd.runc.v2";
    const invocation = binary === undefined ? undefined : this.#invocation(binary, bundle);
    const address = await bundle.read("address");
    if (invocation === undefined || address === undefined) {
      await cleanupDeadShim(bundle, invocation, this.options.publisher, this.options.logger, 0, this.options.platform.removeSocket);
      return;
    }
    let stopLog: (() => void) | undefined;
    try {
      const { client, taskPid } = await connectShim(address.trim(), bundle.namespace, bundle.id, undefined, (to, ms) =>
        this.options.platform.dial(to, ms, "reconnect"),
      );
      stopLog = followLog(this.options.platform, bundle, this.options.logger);
      this.#track(new ShimHandle(bundle, invocation, client, stopLog, runtime, taskPid));
      this.options.logger?.info({ namespace: bundle.namespace, id: bundle.id, pid: taskPid }, "reconnected to shim");
    } catch (error) {
      stopLog?.();
      this.options.logger?.warn({ namespace: bundle.namespace, id: bundle.id, err: error }, "shim did not answer; cleaning up");
      await cleanupDeadShim(bundle, invocation, this.options.publisher, this.options.logger, 0, this.options.platform.removeSocket);
    }
  }

  async #removeOrphanWorkDirs(namespace: string): Promise<void> {
    for (const id of await subdirectories(join(this.options.root, namespace))) {
      if (!this.#shims.has(`${namespace}/${id}`)) await rm(join(this.options.root, namespace, id), { recursive: true, force: true });
    }
  }
}

/** Where Berth's shim keeps Node's compile cache: beside the namespaces' work directories (no namespace name starts with a dot). */
export function shimCacheDirectory(root: string): string {
  return join(root, ".shim-cache");
}

/** InvalidArgument unless the spec is a JSON object. */
export function validateSpec(spec: Any): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(spec.value).toString("utf8"));
  } catch (error) {
    throw invalidArgument(`spec: not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw invalidArgument("spec: must be a JSON object");
}

/** The names of the directories in `path` (none when it does not exist). */
export async function subdirectories(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}
