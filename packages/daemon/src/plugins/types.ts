import type { ContentStore, Runtime, Transferrer } from "@berth/api";
import type { ServiceDefinition, ServiceHandlers } from "@berth/api/services";
import type { Exchange } from "@berth/events";
import { pluginType } from "@berth/plugin";
import { snapshotterPluginType } from "@berth/snapshots";
import type { TtrpcHandlers } from "@berth/ttrpc";
import type { Differ } from "../diff.js";
import type { StreamManager } from "../streams.js";
import type { Metadata } from "./core.js";

/** containerd's plugin types, each typed with what its plugins give (`get(pluginTypes.metadata)` is a `Metadata`). */
export const pluginTypes = {
  content: pluginType<ContentStore>("io.containerd.content.v1"),
  event: pluginType<Exchange>("io.containerd.event.v1"),
  metadata: pluginType<Metadata>("io.containerd.metadata.v1"),
  snapshotter: snapshotterPluginType,
  differ: pluginType<Differ>("io.containerd.differ.v1"),
  gc: pluginType<unknown>("io.containerd.gc.v1"),
  service: pluginType<unknown>("io.containerd.service.v1"),
  grpc: pluginType<GrpcService | GrpcServices>("io.containerd.grpc.v1"),
  monitor: pluginType<unknown>("io.containerd.monitor.v1"),
  runtime: pluginType<Runtime>("io.containerd.runtime.v2"),
  runtimeV1: pluginType<Runtime>("io.containerd.runtime.v1"),
  streaming: pluginType<StreamManager>("io.containerd.streaming.v1"),
  transfer: pluginType<Transferrer>("io.containerd.transfer.v1"),
} as const;

/** The platform of the plugins that serve only this host, in containerd's names. */
export { hostPlatform } from "@berth/plugin";

/** What a gRPC plugin gives the server: a service and its handlers, and a service for the ttrpc socket, if it has one. */
export interface GrpcService {
  readonly definition: ServiceDefinition;
  readonly handlers: ServiceHandlers<ServiceDefinition>;
  readonly ttrpc?: TtrpcService;
}

/** What a gRPC plugin serving several services gives the server (the CRI: RuntimeService and ImageService). */
export interface GrpcServices {
  readonly services: readonly GrpcService[];
}

export const servicesOf = (instance: GrpcService | GrpcServices): readonly GrpcService[] => ("services" in instance ? instance.services : [instance]);

export const grpcService = <D extends ServiceDefinition>(definition: D, handlers: ServiceHandlers<D>): GrpcService => ({
  definition,
  handlers: handlers as unknown as ServiceHandlers<ServiceDefinition>,
});

/** A service on the daemon's ttrpc socket (shims call it). */
export interface TtrpcService {
  readonly definition: ServiceDefinition;
  readonly handlers: TtrpcHandlers<ServiceDefinition>;
}

export const ttrpcService = <D extends ServiceDefinition>(definition: D, handlers: TtrpcHandlers<D>): TtrpcService => ({
  definition,
  handlers: handlers as unknown as TtrpcHandlers<ServiceDefinition>,
});
