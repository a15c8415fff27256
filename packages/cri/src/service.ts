import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { isKind, notImplemented } from "@berth/api";
import { criV1 } from "@berth/api/cri";
import type { ServiceHandlers } from "@berth/api/services";
import type { Client } from "@berth/client";
import { PodNetworks } from "./pod-network.js";
import type { CriConfig } from "./config.js";
import { Containers } from "./containers.js";
import type { CriContext } from "./context.js";
import { execSync } from "./exec.js";
import { CriImages } from "./images.js";
import { watchOom } from "./oom.js";
import { listPodSandboxStats, podSandboxStats } from "./pod-stats.js";
import { recover } from "./recover.js";
import { Sandboxes } from "./sandboxes.js";
import { containerStats, listContainerStats } from "./stats.js";
import { type ContainerRecord, IdIndex, type SandboxRecord } from "./store.js";
import { StreamingServer } from "./streaming.js";
import { SnapshotUsageCache } from "./usage.js";

export interface CriOptions {
  /** Berth's services; the CRI works in namespace `k8s.io`. */
  readonly client: Client;
  readonly config: CriConfig;
  /** The plugin's root and state directories. */
  readonly root: string;
  readonly state: string;
  /** The snapshotter's root, for ImageFsInfo. */
  readonly snapshotterRoot: string;
  readonly runtimeVersion: string;
}

export interface CriServer {
  readonly runtime: ServiceHandlers<typeof criV1.RuntimeServiceDefinition>;
  readonly images: ServiceHandlers<typeof criV1.ImageServiceDefinition>;
  close(): Promise<void>;
}

const unimplemented = (what: string) => async (): Promise<never> => {
  throw notImplemented(`method ${what} not implemented`);
};

/**
 * Starts Berth's CRI: recovers the pods and containers of namespace `k8s.io`, opens the streaming
 * server, and returns the handlers of runtime.v1's RuntimeService and ImageService.
 */
export async function startCri(options: CriOptions): Promise<CriServer> {
  const { config } = options;
  await mkdir(options.root, { recursive: true, mode: 0o711 });
  await mkdir(options.state, { recursive: true, mode: 0o711 });
  const client = options.client.withNamespace("k8s.io");
  const usage = new SnapshotUsageCache(client, config.containerd.snapshotter, config.stats_collect_period);
  const context: CriContext = {
    client,
    config,
    root: options.root,
    state: options.state,
    images: new CriImages(client, config, options.snapshotterRoot, usage),
    cni: new PodNetworks(config.cni.bin_dir, config.cni.conf_dir, config.cni.max_conf_num),
    usage,
    sandboxes: new IdIndex<SandboxRecord>("sandbox"),
    containers: new IdIndex<ContainerRecord>("container"),
    closing: false,
    async removeContainerRecord(id, snapshotter) {
      const ctx = client.context();
      await client.containers.delete(ctx, id).catch((error) => {
        if (!isKind(error, "NotFound")) throw error;
      });
      await client
        .snapshotter(snapshotter)
        .remove(ctx, id)
        .catch((error) => {
          if (!isKind(error, "NotFound")) throw error;
        });
    },
  };
  const containers = new Containers(context);
  const sandboxes = new Sandboxes(context, containers);
  const stopWatching = new AbortController();
  watchOom(context, stopWatching.signal);
  await recover(context, sandboxes, containers);
  const streaming = await StreamingServer.start(context);

  const runtime: ServiceHandlers<typeof criV1.RuntimeServiceDefinition> = {
    version: async () => ({ version: "0.1.0", runtimeName: "containerd", runtimeVersion: options.runtimeVersion, runtimeApiVersion: "v1" }),
    status: async (request) => {
      const cniError = await context.cni.status();
      const conditions = [
        { type: "RuntimeReady", status: true, reason: "", message: "" },
        {
          type: "NetworkReady",
          status: cniError === undefined,
          reason: cniError === undefined ? "" : "NetworkPluginNotReady",
          message: cniError === undefined ? "" : `Network plugin returns error: ${cniError}`,
        },
      ];
      const info: Record<string, string> = {};
      if (request.verbose) {
        info.config = JSON.stringify(config);
        info.cniconfig = JSON.stringify(await context.cni.configInfo());
        info.lastCNILoadStatus = cniError ?? "OK";
      }
      return { status: { conditions }, info };
    },
    runPodSandbox: async (request) => ({ podSandboxId: await sandboxes.run(request) }),
    stopPodSandbox: async (request) => {
      await sandboxes.stop(request.podSandboxId);
      return {};
    },
    removePodSandbox: async (request) => {
      await sandboxes.remove(request.podSandboxId);
      return {};
    },
    podSandboxStatus: async (request) => sandboxes.status(request.podSandboxId, request.verbose),
    listPodSandbox: async (request) => ({ items: sandboxes.list(request.filter) }),
    createContainer: async (request) => ({ containerId: await containers.create(request) }),
    startContainer: async (request) => {
      await containers.start(request.containerId);
      return {};
    },
    stopContainer: async (request) => {
      await containers.stop(request.containerId, Number(request.timeout));
      return {};
    },
    removeContainer: async (request) => {
      await containers.remove(request.containerId);
      return {};
    },
    listContainers: async (request) => ({ containers: containers.list(request.filter) }),
    containerStatus: async (request) => containers.status(request.containerId, request.verbose),
    updateContainerResources: async (request) => {
      await containers.updateResources(request.containerId, request.linux);
      return {};
    },
    reopenContainerLog: async (request) => {
      await containers.reopenLog(request.containerId);
      return {};
    },
    execSync: async (request) => execSync(context, request),
    exec: async (request) => ({ url: streaming.exec(request) }),
    attach: async (request) => ({ url: streaming.attach(request) }),
    portForward: async (request) => ({ url: streaming.portForward(request) }),
    containerStats: async (request) => ({ stats: await containerStats(context, request.containerId) }),
    listContainerStats: async (request) => ({ stats: await listContainerStats(context, request.filter) }),
    podSandboxStats: async (request) => ({ stats: await podSandboxStats(context, request.podSandboxId) }),
    listPodSandboxStats: async (request) => ({ stats: await listPodSandboxStats(context, request.filter) }),
    updateRuntimeConfig: async () => ({}),
    checkpointContainer: unimplemented("CheckpointContainer"),
    getContainerEvents: async function* () {
      throw notImplemented("method GetContainerEvents not implemented");
    },
    listMetricDescriptors: unimplemented("ListMetricDescriptors"),
    listPodSandboxMetrics: unimplemented("ListPodSandboxMetrics"),
  };

  const images: ServiceHandlers<typeof criV1.ImageServiceDefinition> = {
    listImages: async () => ({ images: (await context.images.list()).map((image) => context.images.toCri(image)) }),
    imageStatus: async (request) => {
      const image = await context.images.resolve(request.image?.image ?? "");
      if (image === undefined) return { image: undefined, info: {} };
      const info: Record<string, string> = request.verbose ? { info: JSON.stringify({ chainID: image.chainId }) } : {};
      return { image: context.images.toCri(image), info };
    },
    pullImage: async (request) => ({ imageRef: await context.images.pull(request.image?.image ?? "", request.auth) }),
    removeImage: async (request) => {
      await context.images.remove(request.image?.image ?? "");
      return {};
    },
    imageFsInfo: async () => ({ imageFilesystems: [await context.images.fsInfo()] }),
  };

  return {
    runtime,
    images,
    async close() {
      context.closing = true;
      stopWatching.abort();
      await streaming.close();
    },
  };
}
