import { contentPlugin, exchangePlugin, metadataPlugin } from "./core.js";
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
import { linuxBuiltins } from "./builtins-linux.js";
import { windowsBuiltins } from "./builtins-windows.js";
import { proxyPlugins } from "./proxy.js";
import type { Plugin } from "./registry.js";
import type { Config } from "../config.js";
import { tasksGrpcPlugin } from "./runtime.js";
import { streamingGrpcPlugin, streamingManagerPlugin, transferGrpcPlugin, transferLocalPlugin } from "./transfer.js";

/**
 * A platform's own built-in plugins (containerd's `builtins_<os>.go`), by the place they take
 * among the plugins every platform has. Registration order is what `ctr plugins ls` lists (after
 * dependencies), and the first loaded of a type is what `get` gives: the Tasks service's runtime v2.
 */
export interface PlatformBuiltins {
  /** `io.containerd.snapshotter.v1`, before the metadata plugin, which wraps every one. */
  readonly snapshotters: readonly Plugin<any, any>[];
  /** `io.containerd.differ.v1`; the Diff service serves the first that loads. */
  readonly differs: readonly Plugin<any, any>[];
  /** `io.containerd.monitor.v1`. */
  readonly monitors: readonly Plugin<any, any>[];
  /** `io.containerd.runtime.v1` and `v2`; the Tasks service uses the first v2 runtime that loads. */
  readonly runtimes: readonly Plugin<any, any>[];
}

const builtinsByPlatform: Partial<Record<NodeJS.Platform, PlatformBuiltins>> = { linux: linuxBuiltins, win32: windowsBuiltins };

/** Every plugin berthd knows on this host, in registration order, then those of `config`'s `[proxy_plugins]`. */
export function builtinPlugins(config?: Pick<Config, "proxy_plugins">): Plugin<any, any>[] {
  const builtins = builtinPluginsOf(process.platform);
  return config === undefined ? builtins : [...builtins, ...proxyPlugins(config.proxy_plugins, builtins)];
}

/** Every plugin berthd knows on `platform`, in registration order. */
export function builtinPluginsOf(platform: NodeJS.Platform): Plugin<any, any>[] {
  const own = builtinsByPlatform[platform] ?? linuxBuiltins;
  return [
    exchangePlugin,
    contentPlugin,
    ...own.snapshotters,
    metadataPlugin,
    ...own.differs,
    ...own.monitors,
    streamingManagerPlugin,
    transferLocalPlugin,
    namespacesGrpcPlugin,
    contentGrpcPlugin,
    imagesGrpcPlugin,
    containersGrpcPlugin,
    ...own.runtimes,
    tasksGrpcPlugin,
    leasesGrpcPlugin,
    snapshotsGrpcPlugin,
    diffGrpcPlugin,
    eventsGrpcPlugin,
    streamingGrpcPlugin,
    transferGrpcPlugin,
    healthGrpcPlugin,
    versionGrpcPlugin,
    introspectionGrpcPlugin,
    criPlugin,
  ];
}
