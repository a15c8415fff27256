import { join } from "node:path";
import type { CriServer } from "@berth/cri";
import { type CriConfig, defaultCriConfig } from "@berth/cri/config";
import { berthVersion } from "../version.js";
import { localClient } from "./local-client.js";
import type { Plugin } from "./registry.js";
import { type GrpcService, type GrpcServices, grpcService, pluginTypes, servicesOf } from "./types.js";

interface CriInstance extends GrpcServices {
  readonly cri: CriServer;
}

/**
 * Kubernetes' CRI, containerd's `io.containerd.grpc.v1.cri`: served on the daemon's main socket,
 * it calls the daemon's other services in-process (a Client whose calls run their handlers).
 */
export const criPlugin: Plugin<CriInstance, CriConfig> = {
  type: pluginTypes.grpc,
  id: "cri",
  requires: [pluginTypes.grpc],
  config: defaultCriConfig(),
  init: async ({ root, state, config, daemon, getAll }) => {
    // Loaded here, not with the daemon: the CRI and its client are a large part of berthd's
    // modules and memory, which a daemon with the CRI disabled should not carry.
    const [{ criV1 }, { startCri }] = await Promise.all([import("@berth/api/cri"), import("@berth/cri")]);
    const services = [...getAll<GrpcService | GrpcServices>(pluginTypes.grpc).values()].flatMap(servicesOf);
    const client = await localClient(services, { namespace: "k8s.io", address: daemon.grpc.address }, "cri");
    const cri = await startCri({
      client,
      config,
      root,
      state,
      snapshotterRoot: join(daemon.root, `io.containerd.snapshotter.v1.${config.containerd.snapshotter}`),
      runtimeVersion: berthVersion,
    });
    return { cri, services: [grpcService(criV1.RuntimeServiceDefinition, cri.runtime), grpcService(criV1.ImageServiceDefinition, cri.images)] };
  },
  close: (instance) => instance.cri.close(),
};
