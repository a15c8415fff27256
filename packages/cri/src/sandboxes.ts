import { randomBytes } from "node:crypto";
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { hostname as nodeHostname } from "node:os";
import { join } from "node:path";
import { type Any, type Mount, isKind } from "@berth/api";
import { criV1 } from "@berth/api/cri";
import { createContainer, createTask, readImageConfig } from "@berth/client";
import { mountAll, unmountAll } from "@berth/mount";
import { runtimeOptions } from "./config.js";
import type { Containers } from "./containers.js";
import type { CriContext } from "./context.js";
import { createNetns, netnsOpen, removeNetns } from "./netns.js";
import { type SandboxPaths, sandboxSpecOpts } from "./spec.js";
import { type SandboxRecord, labelsMatch } from "./store.js";

const NODE = 2;

/** The pod's /dev/shm, as containerd mounts it (mount(2) in the daemon, not a `mount` process). */
const sandboxShm: Mount = { type: "tmpfs", source: "shm", options: ["nosuid", "nodev", "noexec", "mode=1777", "size=67108864"] };

/** Unmounts (detached) a pod's /dev/shm; one not mounted is fine. */
export async function unmountSandboxShm(path: string): Promise<void> {
  await unmountAll(path, { detach: true }).catch(() => undefined);
}

export const sandboxMetadataType = "github.com/containerd/cri/pkg/store/sandbox/Metadata";
export const kindLabel = "io.cri-containerd.kind";

export const sandboxPaths = (context: CriContext, id: string): SandboxPaths & { root: string; state: string } => {
  const root = join(context.root, "sandboxes", id);
  const state = join(context.state, "sandboxes", id);
  return { root, state, hostname: join(root, "hostname"), hosts: join(root, "hosts"), resolvConf: join(root, "resolv.conf"), shm: join(state, "shm") };
};

function resolvConf(dns: criV1.DNSConfig | undefined): string | undefined {
  if (dns === undefined || (dns.servers.length === 0 && dns.searches.length === 0 && dns.options.length === 0)) return undefined;
  let text = "";
  if (dns.searches.length > 0) text += `search ${dns.searches.join(" ")}\n`;
  for (const server of dns.servers) text += `nameserver ${server}\n`;
  if (dns.options.length > 0) text += `options ${dns.options.join(" ")}\n`;
  return text;
}

export function sandboxMetadata(record: SandboxRecord): Any {
  const metadata = {
    Version: "v1",
    Metadata: {
      ID: record.id,
      Name: record.name,
      Config: criV1.PodSandboxConfig.toJSON(record.config),
      NetNSPath: record.netnsPath,
      IP: record.ip,
      AdditionalIPs: record.additionalIps,
      RuntimeHandler: record.runtimeHandler,
      CNIResult: record.cniResult ?? null,
      ProcessLabel: "",
    },
  };
  return { typeUrl: sandboxMetadataType, value: Buffer.from(JSON.stringify(metadata)) };
}

/** Pod sandboxes: the pause container, its files, its network. */
export class Sandboxes {
  constructor(
    private readonly context: CriContext,
    private readonly containers: Containers,
  ) {}

  async run(request: criV1.RunPodSandboxRequest): Promise<string> {
    const { context } = this;
    const config = request.config;
    const metadata = config?.metadata;
    if (config === undefined || metadata === undefined) throw new Error("sandbox config must include metadata");
    const handler = request.runtimeHandler || context.config.containerd.default_runtime_name;
    const runtime = context.config.containerd.runtimes[handler];
    if (runtime === undefined) throw new Error(`failed to get sandbox runtime: no runtime for ${JSON.stringify(handler)} is configured`);
    const id = randomBytes(32).toString("hex");
    const name = [metadata.name, metadata.namespace, metadata.uid, metadata.attempt].join("_");
    context.sandboxes.reserve(name, id);
    const undo: (() => Promise<unknown>)[] = [];
    const record: SandboxRecord = {
      id,
      name,
      config,
      runtimeHandler: request.runtimeHandler,
      netnsPath: "",
      ip: "",
      additionalIps: [],
      cniResult: undefined,
      state: "notready",
      pid: 0,
      createdAt: 0,
    };
    try {
      const imageRef = context.config.sandbox_image;
      let image = await context.images.resolve(imageRef);
      if (image === undefined) {
        await context.images.pull(imageRef);
        image = await context.images.get(imageRef);
      }
      const runConfig = await readImageConfig(context.client, context.client.context(), image.records[0]!);
      const paths = sandboxPaths(context, id);
      undo.push(
        () => rm(paths.root, { recursive: true, force: true }),
        () => rm(paths.state, { recursive: true, force: true }),
      );
      await mkdir(paths.root, { recursive: true, mode: 0o755 });
      await mkdir(paths.state, { recursive: true, mode: 0o755 });
      await writeFile(paths.hostname, `${config.hostname || nodeHostname()}\n`, { mode: 0o644 });
      await copyFile("/etc/hosts", paths.hosts);
      const dns = resolvConf(config.dnsConfig);
      if (dns !== undefined) await writeFile(paths.resolvConf, dns, { mode: 0o644 });
      else await copyFile("/etc/resolv.conf", paths.resolvConf);
      const options = config.linux?.securityContext?.namespaceOptions;
      if (options?.ipc !== NODE) {
        await mkdir(paths.shm, { recursive: true, mode: 0o700 });
        await mountAll([sandboxShm], paths.shm);
        undo.push(() => unmountSandboxShm(paths.shm));
      }
      if (options?.network !== NODE) {
        record.netnsPath = await createNetns(context.config.netns_mounts_under_state_dir ? join(context.state, "netns") : "/var/run/netns");
        undo.push(() => removeNetns(record.netnsPath));
        const pod = this.#podNetwork(record);
        undo.push(() => context.cni.teardown(pod).catch(() => undefined));
        const network = await context.cni.setup(pod);
        record.ip = network.ip;
        record.additionalIps = network.additionalIps;
        record.cniResult = network.result;
      }
      const labels = { ...config.labels, [kindLabel]: "sandbox" };
      const container = await createContainer(context.client, context.client.context(), {
        id,
        image: runConfig,
        snapshotter: context.config.containerd.snapshotter,
        runtime: runtime.runtime_type,
        runtimeOptions: runtimeOptions(runtime),
        labels,
        extensions: { "io.cri-containerd.sandbox.metadata": sandboxMetadata(record) },
        spec: sandboxSpecOpts(id, runConfig, config, context.config, record.netnsPath, paths),
      });
      undo.push(() => context.removeContainerRecord(id, container.snapshotter));
      record.createdAt = container.createdAt.seconds * 1e9 + container.createdAt.nanos;
      const ctx = context.client.context();
      record.pid = await createTask(context.client, ctx, container, { stdin: "", stdout: "", stderr: "", terminal: false });
      undo.push(() => context.client.tasks.delete(ctx, id).catch(() => undefined));
      undo.push(() => context.client.tasks.kill(ctx, id, 9).catch(() => undefined));
      await context.client.tasks.start(ctx, id);
      record.state = "ready";
      this.monitor(record);
      context.sandboxes.add(record);
      return id;
    } catch (error) {
      for (const step of undo.reverse()) await step().catch(() => undefined);
      context.sandboxes.release(name);
      throw error;
    }
  }

  #podNetwork(record: SandboxRecord) {
    const metadata = record.config.metadata!;
    return {
      id: record.id,
      netns: record.netnsPath,
      namespace: metadata.namespace,
      name: metadata.name,
      uid: metadata.uid,
      portMappings: record.config.portMappings,
      dns: record.config.dnsConfig,
    };
  }

  /** Waits for the pause task's exit: the task is deleted and the sandbox is NOTREADY. */
  monitor(record: SandboxRecord): void {
    const ctx = this.context.client.context();
    record.exited = this.context.client.tasks
      .wait(ctx, record.id)
      .then(async () => {
        await this.context.client.tasks.delete(ctx, record.id).catch(() => undefined);
        record.state = "notready";
        record.pid = 0;
      })
      .catch(() => {
        if (this.context.closing) return;
        record.state = "notready";
        record.pid = 0;
      });
  }

  async stop(id: string): Promise<void> {
    const { context } = this;
    const record = context.sandboxes.get(id);
    for (const container of context.containers.list().filter((c) => c.sandboxId === record.id)) await this.containers.stop(container.id, 0);
    const paths = sandboxPaths(context, record.id);
    await unmountSandboxShm(paths.shm);
    if (record.state === "ready") {
      await context.client.tasks.kill(context.client.context(), record.id, 9, { all: true }).catch((error) => {
        if (!isKind(error, "NotFound") && !isKind(error, "Unavailable")) throw error;
      });
      await record.exited;
    }
    if (record.netnsPath !== "") {
      const open = await netnsOpen(record.netnsPath);
      await context.cni.teardown({ ...this.#podNetwork(record), netns: open ? record.netnsPath : "" });
      await removeNetns(record.netnsPath);
      record.netnsPath = "";
      record.ip = "";
      record.additionalIps = [];
    }
  }

  async remove(id: string): Promise<void> {
    const { context } = this;
    const record = context.sandboxes.find(id);
    if (record === undefined) return;
    await this.stop(record.id);
    for (const container of context.containers.list().filter((c) => c.sandboxId === record.id)) await this.containers.remove(container.id);
    const paths = sandboxPaths(context, record.id);
    await rm(paths.root, { recursive: true, force: true });
    await rm(paths.state, { recursive: true, force: true });
    await context.removeContainerRecord(record.id, context.config.containerd.snapshotter);
    context.sandboxes.delete(record.id);
  }

  status(id: string, verbose: boolean): criV1.PodSandboxStatusResponse {
    const record = this.context.sandboxes.get(id);
    const options = record.config.linux?.securityContext?.namespaceOptions;
    const status: criV1.PodSandboxStatus = {
      id: record.id,
      metadata: record.config.metadata,
      state: record.state === "ready" ? criV1.PodSandboxState.SANDBOX_READY : criV1.PodSandboxState.SANDBOX_NOTREADY,
      createdAt: record.createdAt,
      network: { ip: record.ip, additionalIps: record.additionalIps.map((ip) => ({ ip })) },
      linux: {
        namespaces: { options: { network: options?.network ?? 0, pid: options?.pid ?? 0, ipc: options?.ipc ?? 0, targetId: "", usernsOptions: undefined } },
      },
      labels: record.config.labels,
      annotations: record.config.annotations,
      runtimeHandler: record.runtimeHandler,
    };
    const info: Record<string, string> = {};
    if (verbose) {
      info.info = JSON.stringify({
        pid: record.pid,
        processStatus: record.state === "ready" ? "running" : "stopped",
        netNamespaceClosed: record.netnsPath === "",
        image: this.context.config.sandbox_image,
        snapshotKey: record.id,
        snapshotter: this.context.config.containerd.snapshotter,
        runtimeHandler: record.runtimeHandler,
        config: criV1.PodSandboxConfig.toJSON(record.config),
        cniResult: record.cniResult ?? null,
      });
    }
    return { status, info, containersStatuses: [], timestamp: 0 };
  }

  list(filter: criV1.PodSandboxFilter | undefined): criV1.PodSandbox[] {
    let records = this.context.sandboxes.list();
    if (filter?.id) {
      const match = this.context.sandboxes.find(filter.id);
      records = match === undefined ? [] : [match];
    }
    const wanted = filter?.state?.state;
    return records
      .map((record) => ({
        id: record.id,
        metadata: record.config.metadata,
        state: record.state === "ready" ? criV1.PodSandboxState.SANDBOX_READY : criV1.PodSandboxState.SANDBOX_NOTREADY,
        createdAt: record.createdAt,
        labels: record.config.labels,
        annotations: record.config.annotations,
        runtimeHandler: record.runtimeHandler,
      }))
      .filter((s) => (wanted === undefined || s.state === wanted) && labelsMatch(s.labels, filter?.labelSelector));
  }
}
