import { contentPlugin, differPlugin, exchangePlugin, metadataPlugin } from "./core.js";
import { criPlugin } from "./cri.js";
import {
  containersGrpcPlugin,
  contentGrpcPlugin,
  diffGrpcPlugin,
  eventsGrpcPlugin,
  healthGrpcPlugin,
  imagesGrpcPlugin,
  introspectionGrpcPlugin,
  leasesGrpcPlugin,
  namespacesGrpcPlugin,
  snapshotsGrpcPlugin,
  versionGrpcPlugin,
} from "./grpc.js";
import { cgroupsMonitorPlugin } from "./monitor.js";
import type { Plugin } from "./registry.js";
import { runtimePlugin, tasksGrpcPlugin } from "./runtime.js";
import { btrfsPlugin, nativePlugin, overlayPlugin } from "./snapshotters.js";

/** Every plugin berthd knows, in registration order. */
export function builtinPlugins(): Plugin<any, any>[] {
  return [
    exchangePlugin,
    contentPlugin,
    overlayPlugin,
    btrfsPlugin,
    nativePlugin,
    metadataPlugin,
    differPlugin,
    cgroupsMonitorPlugin,
    namespacesGrpcPlugin,
    contentGrpcPlugin,
    imagesGrpcPlugin,
    containersGrpcPlugin,
    runtimePlugin,
    tasksGrpcPlugin,
    leasesGrpcPlugin,
    snapshotsGrpcPlugin,
    diffGrpcPlugin,
    eventsGrpcPlugin,
    healthGrpcPlugin,
    versionGrpcPlugin,
    introspectionGrpcPlugin,
    criPlugin,
  ];
}
