import type { ServiceDefinition, ServiceHandlers } from "@berth/api/services";
import { hostPlatform as ociHostPlatform } from "@berth/oci";
import type { TtrpcHandlers } from "@berth/ttrpc";

/** containerd's plugin types. */
export const pluginTypes = {
  content: "io.containerd.content.v1",
  event: "io.containerd.event.v1",
  metadata: "io.containerd.metadata.v1",
  snapshotter: "io.containerd.snapshotter.v1",
  differ: "io.containerd.differ.v1",
  gc: "io.containerd.gc.v1",
  service: "io.containerd.service.v1",
  grpc: "io.containerd.grpc.v1",
  monitor: "io.containerd.monitor.v1",
  runtime: "io.containerd.runtime.v2",
  runtimeV1: "io.containerd.runtime.v1",
} as const;

/** The platform plugins that depend on the host report, in containerd's names. */
export const hostPlatform = { os: "linux", architecture: ociHostPlatform().architecture } as const;

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
