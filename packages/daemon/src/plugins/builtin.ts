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
import type { Config } from "../config.js";
import { proxyPlugins } from "./proxy.js";
import type { Plugin } from "./registry.js";
import { runtimeV1Plugin } from "./runtime-v1.js";
import { runtimePlugin, tasksGrpcPlugin } from "./runtime.js";
import { btrfsPlugin, nativePlugin, overlayPlugin } from "./snapshotters.js";
import { windowsDifferPlugin, windowsRuntimePlugin, windowsSnapshotterPlugin } from "./windows.js";

/** Every plugin berthd knows, in registration order, then those of `config`'s `[proxy_plugins]`. */
export function builtinPlugins(config?: Pick<Config, "proxy_plugins">): Plugin<any, any>[] {
  const builtins = [
    exchangePlugin,
    contentPlugin,
    overlayPlugin,
    btrfsPlugin,
    nativePlugin,
    windowsSnapshotterPlugin,
    metadataPlugin,
    windowsDifferPlugin,
    differPlugin,
    cgroupsMonitorPlugin,
    namespacesGrpcPlugin,
    contentGrpcPlugin,
    imagesGrpcPlugin,
    containersGrpcPlugin,
    runtimeV1Plugin,
    windowsRuntimePlugin,
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
  return config === undefined ? builtins : [...builtins, ...proxyPlugins(config.proxy_plugins, builtins)];
}
