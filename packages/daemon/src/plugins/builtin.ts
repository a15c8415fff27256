import { contentPlugin, differPlugin, exchangePlugin, metadataPlugin } from "./core.js";
import {
  containersGrpcPlugin,
  contentGrpcPlugin,
  diffGrpcPlugin,
  eventsGrpcPlugin,
  imagesGrpcPlugin,
  introspectionGrpcPlugin,
  leasesGrpcPlugin,
  namespacesGrpcPlugin,
  snapshotsGrpcPlugin,
  versionGrpcPlugin,
} from "./grpc.js";
import { cgroupsMonitorPlugin } from "./monitor.js";
import type { Plugin } from "./registry.js";
import { runtimeV1Plugin } from "./runtime-v1.js";
import { runtimePlugin, tasksGrpcPlugin } from "./runtime.js";
import { btrfsPlugin, overlayPlugin } from "./snapshotters.js";

/** Every plugin berthd knows, in registration order. */
export function builtinPlugins(): Plugin<any, any>[] {
  return [
    exchangePlugin,
    contentPlugin,
    overlayPlugin,
    btrfsPlugin,
    metadataPlugin,
    differPlugin,
    cgroupsMonitorPlugin,
    namespacesGrpcPlugin,
    contentGrpcPlugin,
    imagesGrpcPlugin,
    containersGrpcPlugin,
    runtimeV1Plugin,
    runtimePlugin,
    tasksGrpcPlugin,
    leasesGrpcPlugin,
    snapshotsGrpcPlugin,
    diffGrpcPlugin,
    eventsGrpcPlugin,
    versionGrpcPlugin,
    introspectionGrpcPlugin,
  ];
}
