import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { knownTypes } from "@berth/api";
import type { ServiceDefinition, ServiceHandlers } from "@berth/api/services";
import { Exchange } from "@berth/events";
import { eventsV1, introspectionV1, namespacesV1, versionV1 } from "@berth/api/proto";
import { eventsHandlers } from "../grpc/events.js";
import { introspectionHandlers } from "../grpc/introspection.js";
import { namespacesHandlers } from "../grpc/namespaces.js";
import { versionHandlers } from "../grpc/version.js";
import { MetadataStore } from "../metadata.js";
import { NamespaceService } from "../namespaces.js";
import { berthRevision, berthVersion } from "../version.js";
import type { Plugin } from "./registry.js";

export const pluginTypes = {
  event: "io.containerd.event.v1",
  metadata: "io.containerd.metadata.v1",
  service: "io.containerd.service.v1",
  grpc: "io.containerd.grpc.v1",
} as const;

/** What a gRPC plugin gives the server: a service and its handlers. */
export interface GrpcService {
  readonly definition: ServiceDefinition;
  readonly handlers: ServiceHandlers<ServiceDefinition>;
}

const grpcService = <D extends ServiceDefinition>(definition: D, handlers: ServiceHandlers<D>): GrpcService => ({
  definition,
  handlers: handlers as unknown as ServiceHandlers<ServiceDefinition>,
});

const types = knownTypes();

const exchangePlugin: Plugin<Exchange, { buffer_size: number }> = {
  type: pluginTypes.event,
  id: "exchange",
  config: { buffer_size: 1024 },
  init: ({ config, logger }) => new Exchange({ bufferSize: config.buffer_size, logger, types }),
  close: (exchange) => exchange.close(),
};

const metadataPlugin: Plugin<MetadataStore> = {
  type: pluginTypes.metadata,
  id: "lmdb",
  init: ({ root, exports }) => {
    exports.root = root;
    return MetadataStore.open(root);
  },
  close: (store) => store.close(),
};

const namespacesServicePlugin: Plugin<NamespaceService> = {
  type: pluginTypes.service,
  id: "namespaces-service",
  requires: [pluginTypes.metadata, pluginTypes.event],
  init: (context) => new NamespaceService(context.get(pluginTypes.metadata), context.get(pluginTypes.event), types),
};

const namespacesGrpcPlugin: Plugin<GrpcService> = {
  type: pluginTypes.grpc,
  id: "namespaces",
  requires: [pluginTypes.service],
  init: (context) => grpcService(namespacesV1.NamespacesDefinition, namespacesHandlers(context.get(pluginTypes.service, "namespaces-service"))),
};

const eventsGrpcPlugin: Plugin<GrpcService> = {
  type: pluginTypes.grpc,
  id: "events",
  requires: [pluginTypes.event],
  init: (context) => grpcService(eventsV1.EventsDefinition, eventsHandlers(context.get<Exchange>(pluginTypes.event))),
};

const versionGrpcPlugin: Plugin<GrpcService> = {
  type: pluginTypes.grpc,
  id: "version",
  init: () => grpcService(versionV1.VersionDefinition, versionHandlers(berthVersion, berthRevision)),
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

const introspectionGrpcPlugin: Plugin<GrpcService> = {
  type: pluginTypes.grpc,
  id: "introspection",
  requires: ["*"],
  init: (context) =>
    grpcService(
      introspectionV1.IntrospectionDefinition,
      introspectionHandlers(() => context.plugins, {
        uuid: serverUuid(context.root),
        pid: process.pid,
        pidns: statSync("/proc/self/ns/pid").ino,
      }),
    ),
};

/** Every plugin berthd knows, in registration order. */
export function builtinPlugins(): Plugin<any, any>[] {
  return [
    exchangePlugin,
    metadataPlugin,
    namespacesServicePlugin,
    namespacesGrpcPlugin,
    eventsGrpcPlugin,
    versionGrpcPlugin,
    introspectionGrpcPlugin,
  ];
}
