import type { ContentStore, Snapshotter } from "@berth/api";
import { type Plugin, type PluginPlatform, SkipPlugin, hostPlatform, pluginType } from "@berth/plugin";
import { snapshotterPluginType } from "@berth/snapshots";
import type { WindowsDiffer } from "./layers/differ.js";
import { windowsDefaults, windowsSupport } from "./platform.js";

/**
 * containerd's Windows plugins: the `windows` snapshotter and differ (the runhcs runtime needs the
 * daemon's shim manager, so berthd registers it itself). Each skips itself anywhere but on
 * Windows, with a reason `ctr plugins ls` shows (status skip). Also alone as
 * `@berth/runtime-windows/plugins`: registering them loads none of the layer code (tar codec,
 * snapshotter, differ), which their `init` imports only on Windows, so a Linux berthd never holds it.
 */
export const windowsPluginPlatform: PluginPlatform = { os: "windows", architecture: hostPlatform.architecture };

/** Throws `SkipPlugin` with `windowsSupport`'s reason anywhere but on Windows. */
export function skipUnlessWindows(): void {
  const support = windowsSupport();
  if (!support.supported) throw new SkipPlugin(support.reason ?? "not Windows");
}

/** What the Windows plugins ask of their host: a logger, for what only a warning can report. */
export interface WindowsPluginHost {
  readonly logger: { warn(details: object, message: string): void };
}

/** What the differ needs of containerd's metadata plugin: the (namespaced) content store. */
const metadataPluginType = pluginType<{ readonly content: ContentStore }>("io.containerd.metadata.v1");

export const windowsSnapshotterPlugin: Plugin<Snapshotter, { root_path: string }, WindowsPluginHost> = {
  type: snapshotterPluginType,
  id: windowsDefaults.snapshotter,
  platforms: [windowsPluginPlatform],
  config: { root_path: "" },
  init: async ({ root, config, exports, logger }) => {
    skipUnlessWindows();
    const path = config.root_path || root;
    exports.root = path;
    const [{ WindowsSnapshotter }, { loadWin32LayerOps }] = await Promise.all([import("./layers/snapshotter.js"), import("./win32-loader.js")]);
    return WindowsSnapshotter.open(path, await loadWin32LayerOps(), { log: (message, error) => logger.warn({ err: error }, message) });
  },
  close: (snapshotter) => snapshotter.close(),
};

export const windowsDifferPlugin: Plugin<WindowsDiffer> = {
  type: "io.containerd.differ.v1",
  id: "windows",
  requires: [metadataPluginType],
  platforms: [windowsPluginPlatform],
  init: async ({ get }) => {
    skipUnlessWindows();
    const [{ WindowsDiffer }, { loadWin32LayerOps }] = await Promise.all([import("./layers/differ.js"), import("./win32-loader.js")]);
    return new WindowsDiffer(get(metadataPluginType).content, await loadWin32LayerOps());
  },
};
