import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  containersV1,
  contentV1,
  diffV1,
  eventsTtrpcV1,
  eventsV1,
  healthV1,
  imagesV1,
  introspectionV1,
  leasesV1,
  namespacesV1,
  snapshotsV1,
  versionV1,
} from "@berth/api/proto";
import type { Exchange } from "@berth/events";
import type { Differ } from "../diff.js";
import { containersHandlers } from "../grpc/containers.js";
import { contentHandlers } from "../grpc/content.js";
import { diffHandlers } from "../grpc/diff.js";
import { eventsHandlers, eventsTtrpcHandlers } from "../grpc/events.js";
import { healthHandlers } from "../grpc/health.js";
import { imagesHandlers } from "../grpc/images.js";
import { introspectionHandlers } from "../grpc/introspection.js";
import { leasesHandlers } from "../grpc/leases.js";
import { namespacesHandlers } from "../grpc/namespaces.js";
import { snapshotsHandlers } from "../grpc/snapshots.js";
import { versionHandlers } from "../grpc/version.js";
import { berthRevision, berthVersion } from "../version.js";
import type { Metadata } from "./core.js";
import type { Plugin } from "./registry.js";
import { type GrpcService, grpcService, pluginTypes, ttrpcService } from "./types.js";

/** A gRPC plugin serving one of the metadata's services. */
function metadataService(id: string, serve: (metadata: Metadata) => GrpcService): Plugin<GrpcService> {
  return { type: pluginTypes.grpc, id, requires: [pluginTypes.metadata], init: (context) => serve(context.get(pluginTypes.metadata)) };
}

/** The metadata's services as the gRPC plugins serve them (and the transfer service uses them in-process). */
export const metadataServices = {
  content: (m: Metadata) => grpcService(contentV1.ContentDefinition, contentHandlers(m.content)),
  images: (m: Metadata) => grpcService(imagesV1.ImagesDefinition, imagesHandlers(m.images)),
  snapshots: (m: Metadata) => grpcService(snapshotsV1.SnapshotsDefinition, snapshotsHandlers(m.snapshotters)),
  leases: (m: Metadata) => grpcService(leasesV1.LeasesDefinition, leasesHandlers(m.leases)),
};

export const namespacesGrpcPlugin = metadataService("namespaces", (m) => grpcService(namespacesV1.NamespacesDefinition, namespacesHandlers(m.namespaces)));
export const contentGrpcPlugin = metadataService("content", metadataServices.content);
export const imagesGrpcPlugin = metadataService("images", metadataServices.images);
export const containersGrpcPlugin = metadataService("containers", (m) => grpcService(containersV1.ContainersDefinition, containersHandlers(m.containers)));
export const snapshotsGrpcPlugin = metadataService("snapshots", metadataServices.snapshots);
export const leasesGrpcPlugin = metadataService("leases", metadataServices.leases);

export const eventsGrpcPlugin: Plugin<GrpcService> = {
  type: pluginTypes.grpc,
  id: "events",
  requires: [pluginTypes.event],
  init: (context) => {
    const exchange = context.get<Exchange>(pluginTypes.event);
    // As containerd's events service, it also serves Forward on the ttrpc socket, for shims.
    return {
      ...grpcService(eventsV1.EventsDefinition, eventsHandlers(exchange)),
      ttrpc: ttrpcService(eventsTtrpcV1.EventsDefinition, eventsTtrpcHandlers(exchange)),
    };
  },
};

export const diffService = (differ: Differ): GrpcService => grpcService(diffV1.DiffDefinition, diffHandlers(differ));

export const diffGrpcPlugin: Plugin<GrpcService> = {
  type: pluginTypes.grpc,
  id: "diff",
  requires: [pluginTypes.differ],
  init: (context) => diffService(context.get<Differ>(pluginTypes.differ)),
};

export const versionGrpcPlugin: Plugin<GrpcService> = {
  type: pluginTypes.grpc,
  id: "version",
  init: () => grpcService(versionV1.VersionDefinition, versionHandlers(berthVersion, berthRevision)),
};

/** grpc.health.v1.Health, which containerd's Go client (IsServing) and Docker call. */
export const healthGrpcPlugin: Plugin<GrpcService> = {
  type: pluginTypes.grpc,
  id: "healthcheck",
  init: () => grpcService(healthV1.HealthDefinition, healthHandlers()),
};

/** The daemon's identity survives restarts, as containerd's does. */
function serverUuid(root: string): string {
  const path = join(root, "uuid");
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    mkdirSync(root, { recursive: true, mode: 0o711 });
    const uuid = randomUUID();
    writeFileSync(path, uuid, { mode: 0o644 });
    return uuid;
  }
}

export const introspectionGrpcPlugin: Plugin<GrpcService> = {
  type: pluginTypes.grpc,
  id: "introspection",
  requires: ["*"],
  init: (context) =>
    grpcService(
      introspectionV1.IntrospectionDefinition,
      introspectionHandlers(() => context.plugins, { uuid: serverUuid(context.root), pid: process.pid, pidns: statSync("/proc/self/ns/pid").ino }),
    ),
};
