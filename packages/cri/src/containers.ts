import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { type Any, failedPrecondition, isKind, jsonTypeUrls, packJson, unpackJson } from "@berth/api";
import { criV1 } from "@berth/api/cri";
import { AttachedIO, type OciSpec, type ProcessIO, createContainer, createTask, newFifoSet, readImageConfig, removeFifos, specAny } from "@berth/client";
import { runtimeOptions } from "./config.js";
import type { CriContext } from "./context.js";
import { CriLog } from "./logs.js";
import { kindLabel, sandboxPaths } from "./sandboxes.js";
import { applyResources, containerSpecOpts, validateContainerConfig } from "./spec.js";
import { type ContainerRecord, type ContainerStatusRecord, labelsMatch, nowNanos } from "./store.js";

export const containerMetadataType = "github.com/containerd/cri/pkg/store/container/Metadata";

const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15, SIGWINCH: 28 };
export const signalNumber = (name: string): number => (/^\d+$/.test(name) ? Number(name) : (signals[name.startsWith("SIG") ? name : `SIG${name}`] ?? 15));

export function containerState(status: ContainerStatusRecord): criV1.ContainerState {
  if (status.unknown) return criV1.ContainerState.CONTAINER_UNKNOWN;
  if (status.finishedAt !== 0) return criV1.ContainerState.CONTAINER_EXITED;
  if (status.startedAt !== 0) return criV1.ContainerState.CONTAINER_RUNNING;
  if (status.createdAt !== 0) return criV1.ContainerState.CONTAINER_CREATED;
  return criV1.ContainerState.CONTAINER_UNKNOWN;
}

const stateName = (state: criV1.ContainerState) => criV1.containerStateToJSON(state);

export function containerMetadata(record: ContainerRecord): Any {
  const metadata = {
    Version: "v1",
    Metadata: {
      ID: record.id,
      Name: record.name,
      SandboxID: record.sandboxId,
      Config: criV1.ContainerConfig.toJSON(record.config),
      ImageRef: record.imageRef,
      LogPath: record.logPath,
      StopSignal: record.stopSignal,
      ProcessLabel: "",
    },
  };
  return { typeUrl: containerMetadataType, value: Buffer.from(JSON.stringify(metadata)) };
}

/** App containers: create, start, stop, remove, status, list, logs. */
export class Containers {
  constructor(private readonly context: CriContext) {}

  paths(id: string) {
    return { root: join(this.context.root, "containers", id), state: join(this.context.state, "containers", id) };
  }

  /** containerd's status file, rewritten atomically on every change. */
  async saveStatus(record: ContainerRecord): Promise<void> {
    const { root } = this.paths(record.id);
    const s = record.status;
    const body = JSON.stringify({
      Version: "v1",
      Status: {
        Pid: s.pid,
        CreatedAt: s.createdAt,
        StartedAt: s.startedAt,
        FinishedAt: s.finishedAt,
        ExitCode: s.exitCode,
        Reason: s.reason,
        Message: s.message,
      },
    });
    await mkdir(root, { recursive: true, mode: 0o755 });
    await writeFile(join(root, "status.tmp"), body, { mode: 0o600 });
    await rename(join(root, "status.tmp"), join(root, "status"));
  }

  async create(request: criV1.CreateContainerRequest): Promise<string> {
    const { context } = this;
    const config = request.config;
    const metadata = config?.metadata;
    if (config === undefined || metadata === undefined) throw new Error("container config must include metadata");
    const sandbox = context.sandboxes.get(request.podSandboxId);
    if (sandbox.state !== "ready" || sandbox.pid === 0) throw failedPrecondition(`sandbox container ${JSON.stringify(sandbox.id)} is not running`);
    validateContainerConfig(config);
    const sandboxMetadata = sandbox.config.metadata!;
    const id = randomBytes(32).toString("hex");
    const name = [metadata.name, sandboxMetadata.name, sandboxMetadata.namespace, sandboxMetadata.uid, metadata.attempt].join("_");
    context.containers.reserve(name, id);
    const paths = this.paths(id);
    try {
      const imageName = config.image?.image ?? "";
      const image = await context.images.get(imageName);
      const runConfig = await readImageConfig(context.client, context.client.context(), image.records[0]!);
      await mkdir(paths.root, { recursive: true, mode: 0o755 });
      await mkdir(paths.state, { recursive: true, mode: 0o755 });
      const logPath = sandbox.config.logDirectory !== "" && config.logPath !== "" ? join(sandbox.config.logDirectory, config.logPath) : "";
      const record: ContainerRecord = {
        id,
        name,
        sandboxId: sandbox.id,
        config,
        imageRef: image.id,
        imageName: image.repoTags[0] ?? imageName,
        logPath,
        stopSignal: image.stopSignal,
        status: { pid: 0, createdAt: 0, startedAt: 0, finishedAt: 0, exitCode: 0, reason: "", message: "" },
      };
      const handler = sandbox.runtimeHandler || context.config.containerd.default_runtime_name;
      const runtime = context.config.containerd.runtimes[handler]!;
      await createContainer(context.client, context.client.context(), {
        id,
        image: runConfig,
        snapshotter: context.config.containerd.snapshotter,
        runtime: runtime.runtime_type,
        runtimeOptions: runtimeOptions(runtime),
        labels: { ...config.labels, [kindLabel]: "container" },
        extensions: { "io.cri-containerd.container.metadata": containerMetadata(record) },
        spec: containerSpecOpts({
          id,
          sandboxId: sandbox.id,
          sandboxPid: sandbox.pid,
          sandboxConfig: sandbox.config,
          sandboxPaths: sandboxPaths(context, sandbox.id),
          config,
          image: runConfig,
          imageName,
          cri: context.config,
        }),
      });
      record.status.createdAt = nowNanos();
      await this.saveStatus(record);
      context.containers.add(record);
      return id;
    } catch (error) {
      await context.removeContainerRecord(id, context.config.containerd.snapshotter).catch(() => undefined);
      await rm(paths.root, { recursive: true, force: true });
      await rm(paths.state, { recursive: true, force: true });
      context.containers.release(name);
      throw error;
    }
  }

  /** Opens the container's IO: FIFOs whose output goes to the CRI log. */
  async #attachIO(record: ContainerRecord): Promise<ProcessIO> {
    const fifos = await newFifoSet(join(this.paths(record.id).state, "io"), record.id, record.config.tty);
    const io = { stdin: record.config.stdin ? fifos.stdin : "", stdout: fifos.stdout, stderr: fifos.stderr, terminal: record.config.tty };
    if (!record.config.stdin) await rm(fifos.stdin, { force: true });
    await this.#copyOutput(record, io);
    return io;
  }

  /** After a restart: the running task's FIFOs feed the log again. */
  async reattach(record: ContainerRecord, task: ProcessIO): Promise<void> {
    await this.#copyOutput(record, task);
  }

  async #copyOutput(record: ContainerRecord, io: ProcessIO): Promise<void> {
    const log = await CriLog.open(record.logPath, this.context.config.max_container_log_line_size);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    // Attach clients get what the log gets.
    stdout.on("data", (chunk: Buffer) => {
      for (const sink of record.attached ?? []) sink.stdout?.write(chunk);
    });
    stderr.on("data", (chunk: Buffer) => {
      for (const sink of record.attached ?? []) (record.config.tty ? sink.stdout : sink.stderr)?.write(chunk);
    });
    const follows = [log.follow(stdout, "stdout"), log.follow(stderr, "stderr")];
    const attached = AttachedIO.attach(io, { stdout, ...(io.stderr !== "" ? { stderr } : {}) });
    if (io.stderr === "") stderr.end();
    record.io = io;
    record.reopenLog = () => log.reopen();
    record.closeIO = () => attached.close();
    void attached.wait().then(async () => {
      stdout.end();
      stderr.end();
      await Promise.all(follows);
      await log.close();
    });
  }

  async start(id: string): Promise<void> {
    const { context } = this;
    const record = context.containers.get(id);
    const state = containerState(record.status);
    if (state !== criV1.ContainerState.CONTAINER_CREATED) throw failedPrecondition(`container is in ${stateName(state)} state`);
    const sandbox = context.sandboxes.get(record.sandboxId);
    if (sandbox.state !== "ready") throw failedPrecondition(`sandbox container ${JSON.stringify(sandbox.id)} is not running`);
    const ctx = context.client.context();
    try {
      const container = await context.client.containers.get(ctx, record.id);
      const io = await this.#attachIO(record);
      record.status.pid = await createTask(context.client, ctx, container, io);
      const exited = context.client.tasks.wait(ctx, record.id);
      await context.client.tasks.start(ctx, record.id);
      record.status.startedAt = nowNanos();
      await this.saveStatus(record);
      this.monitor(record, exited);
    } catch (error) {
      record.closeIO?.();
      await context.client.tasks.delete(ctx, record.id).catch(() => undefined);
      Object.assign(record.status, { finishedAt: nowNanos(), exitCode: 128, reason: "StartError", message: (error as Error).message, pid: 0 });
      await this.saveStatus(record);
      throw error;
    }
  }

  /** Records the exit of the container's task once it comes, and deletes the task. */
  monitor(record: ContainerRecord, exited: Promise<{ exitStatus: number; exitedAt?: unknown }>): void {
    const ctx = this.context.client.context();
    record.exited = exited
      .then(async (exit) => {
        await this.context.client.tasks.delete(ctx, record.id).catch(() => undefined);
        Object.assign(record.status, { finishedAt: nowNanos(), exitCode: exit.exitStatus, pid: 0 });
        if (record.io !== undefined) await removeFifos(record.io).catch(() => undefined);
      })
      .then(
        () => this.saveStatus(record).catch(() => undefined),
        async () => {
          // The daemon is going away: the task runs on and is found again at the next start.
          if (this.context.closing) return;
          Object.assign(record.status, { finishedAt: nowNanos(), exitCode: 255, reason: "Unknown", pid: 0 });
          await this.saveStatus(record).catch(() => undefined);
        },
      );
  }

  async stop(id: string, timeout: number): Promise<void> {
    const { context } = this;
    const record = context.containers.get(id);
    const state = containerState(record.status);
    if (state !== criV1.ContainerState.CONTAINER_RUNNING && state !== criV1.ContainerState.CONTAINER_UNKNOWN) return;
    const ctx = context.client.context();
    // A task already gone (NotFound), or whose shim died under it (Unavailable: the runtime
    // cleans up after it and the wait below ends), needs no signal.
    const kill = (signal: number) =>
      context.client.tasks.kill(ctx, record.id, signal, { all: false }).catch((error) => {
        if (!isKind(error, "NotFound") && !isKind(error, "Unavailable")) throw error;
      });
    if (timeout > 0) {
      await kill(signalNumber(record.stopSignal || "SIGTERM"));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        record.exited?.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeout * 1000))),
      ]);
      clearTimeout(timer);
      if (!timedOut) return;
    }
    await kill(9);
    await record.exited;
  }

  async remove(id: string): Promise<void> {
    const { context } = this;
    const record = context.containers.find(id);
    if (record === undefined) return;
    record.removing = true;
    await this.stop(record.id, 0);
    record.closeIO?.();
    await context.removeContainerRecord(record.id, context.config.containerd.snapshotter);
    const paths = this.paths(record.id);
    await rm(paths.root, { recursive: true, force: true });
    await rm(paths.state, { recursive: true, force: true });
    context.containers.delete(record.id);
  }

  status(id: string, verbose: boolean): criV1.ContainerStatusResponse {
    const record = this.context.containers.get(id);
    const state = containerState(record.status);
    const s = record.status;
    let reason = s.reason;
    if (state === criV1.ContainerState.CONTAINER_EXITED && reason === "") reason = s.exitCode === 0 ? "Completed" : "Error";
    const resources = record.config.linux?.resources;
    const status: criV1.ContainerStatus = {
      id: record.id,
      metadata: record.config.metadata,
      state,
      createdAt: s.createdAt,
      startedAt: state === criV1.ContainerState.CONTAINER_CREATED ? 0 : s.startedAt,
      finishedAt: state === criV1.ContainerState.CONTAINER_EXITED || state === criV1.ContainerState.CONTAINER_UNKNOWN ? s.finishedAt : 0,
      exitCode: s.exitCode,
      image: { image: record.imageName, annotations: {} },
      imageRef: record.imageRef,
      reason,
      message: s.message,
      labels: record.config.labels,
      annotations: record.config.annotations,
      mounts: record.config.mounts,
      logPath: record.logPath,
      resources: resources !== undefined ? { linux: resources, windows: undefined } : undefined,
    };
    const info: Record<string, string> = {};
    if (verbose)
      info.info = JSON.stringify({
        sandboxID: record.sandboxId,
        pid: s.pid,
        removing: record.removing ?? false,
        snapshotKey: record.id,
        snapshotter: this.context.config.containerd.snapshotter,
        config: criV1.ContainerConfig.toJSON(record.config),
      });
    return { status, info };
  }

  list(filter: criV1.ContainerFilter | undefined): criV1.Container[] {
    let records = this.context.containers.list();
    if (filter?.id) {
      const match = this.context.containers.find(filter.id);
      records = match === undefined ? [] : [match];
    }
    if (filter?.podSandboxId) {
      const sandbox = this.context.sandboxes.find(filter.podSandboxId);
      records = records.filter((r) => r.sandboxId === sandbox?.id);
    }
    return records
      .map((record) => ({
        id: record.id,
        podSandboxId: record.sandboxId,
        metadata: record.config.metadata,
        image: record.config.image,
        imageRef: record.imageRef,
        state: containerState(record.status),
        createdAt: record.status.createdAt,
        labels: record.config.labels,
        annotations: record.config.annotations,
      }))
      .filter((c) => (filter?.state === undefined || c.state === filter.state.state) && labelsMatch(c.labels, filter?.labelSelector));
  }

  /** UpdateContainerResources: the stored spec, and the running task's cgroup. */
  async updateResources(id: string, resources: criV1.LinuxContainerResources | undefined): Promise<void> {
    const { client } = this.context;
    const record = this.context.containers.get(id);
    if (record.removing) throw failedPrecondition(`container ${JSON.stringify(record.id)} is in removing state`);
    if (resources === undefined) return;
    const ctx = client.context();
    const container = await client.containers.get(ctx, record.id);
    const spec = unpackJson<OciSpec>(container.spec!);
    spec.linux = { ...spec.linux, resources: applyResources(spec.linux?.resources ?? {}, resources) };
    await client.containers.update(ctx, { ...container, spec: specAny(spec) }, ["spec"]);
    if (containerState(record.status) === criV1.ContainerState.CONTAINER_RUNNING) {
      await client.tasks.update(ctx, record.id, packJson(jsonTypeUrls.linuxResources, spec.linux.resources));
    }
    (record.config as { linux?: criV1.LinuxContainerConfig }).linux = {
      securityContext: record.config.linux?.securityContext,
      resources: { ...record.config.linux?.resources, ...resources },
    };
  }

  async reopenLog(id: string): Promise<void> {
    const record = this.context.containers.get(id);
    if (containerState(record.status) !== criV1.ContainerState.CONTAINER_RUNNING) throw failedPrecondition("container is not running");
    await record.reopenLog?.();
  }
}
