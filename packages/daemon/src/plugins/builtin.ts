import { contentPlugin, exchangePlugin, metadataPlugin } from "./core.js";
import {
  contentGrpcPlugin,
  eventsGrpcPlugin,
  imagesGrpcPlugin,
  introspectionGrpcPlugin,
  leasesGrpcPlugin,
  namespacesGrpcPlugin,
  snapshotsGrpcPlugin,
  versionGrpcPlugin,
} from "./grpc.js";
import type { Plugin } from "./registry.js";

/** Every plugin berthd knows, in registration order. */
export function builtinPlugins(): Plugin<any, any>[] {
  return [
    exchangePlugin,
    contentPlugin,
    metadataPlugin,
    namespacesGrpcPlugin,
    contentGrpcPlugin,
    imagesGrpcPlugin,
    leasesGrpcPlugin,
    snapshotsGrpcPlugin,
    eventsGrpcPlugin,
    versionGrpcPlugin,
    introspectionGrpcPlugin,
  ];
}
