import type { Snapshotter } from "@berth/api";
import type { ShimManager } from "@berth/runtime-linux";
import { WindowsDiffer, WindowsSnapshotter, loadWin32LayerOps, unmountWindowsLayer, windowsDefaults, windowsSupport } from "@berth/runtime-windows";
import { windowsShimPlatform } from "@berth/runtime-windows/shim";
import type { Metadata } from "./core.js";
import { type Plugin, SkipPlugin } from "./registry.js";
import { openShimManager } from "./runtime.js";
import { hostPlatform, pluginTypes } from "./types.js";

/**
 * containerd's Windows plugins: the `windows` snapshotter and differ, and the shim v2 runtime for
 * Microsoft's `containerd-shim-runhcs-v1.exe`. Each skips itself anywhere but on Windows, with a
 * reason `ctr plugins ls` shows (status skip).
 */
const windowsPlatform = { os: "windows", architecture: hostPlatform.architecture } as const;

function skipUnlessWindows(): void {
  const support = windowsSupport();
  if (!support.supported) throw new SkipPlugin(support.reason ?? "not Windows");
}

export const windowsSnapshotterPlugin: Plugin<Snapshotter, { root_path: string }> = {
  type: pluginTypes.snapshotter,
  id: windowsDefaults.snapshotter,
  platforms: [windowsPlatform],
  config: { root_path: "" },
  init: async ({ root, config, exports, logger }) => {
    skipUnlessWindows();
    const path = config.root_path || root;
    exports.root = path;
    return WindowsSnapshotter.open(path, await loadWin32LayerOps(), { log: (message, error) => logger.warn({ err: error }, message) });
  },
  close: (snapshotter) => snapshotter.close(),
};

export const windowsDifferPlugin: Plugin<WindowsDiffer> = {
  type: pluginTypes.differ,
  id: "windows",
  requires: [pluginTypes.metadata],
  platforms: [windowsPlatform],
  init: async ({ get }) => {
    skipUnlessWindows();
    return new WindowsDiffer(get<Metadata>(pluginTypes.metadata).content, await loadWin32LayerOps());
  },
};

export interface WindowsRuntimeConfig {
  /** containerd's runtime platforms on Windows: the host's and linux/amd64 (LCOW). */
  platforms: string[];
  /** The shim binary per runtime name, before the search on %PATH% for `containerd-shim-<name>-<version>.exe`. */
  shims: Record<string, string>;
}

/**
 * The shim v2 core with the Windows seam (named pipes, `containerd-shim-runhcs-v1.exe`, the
 * reversed log pipe): containerd's runtime v2 on Windows. Listed before the Linux one, so that
 * the Tasks service uses it where it loads.
 */
export const windowsRuntimePlugin: Plugin<ShimManager, WindowsRuntimeConfig> = {
  type: pluginTypes.runtime,
  id: "runhcs",
  requires: [pluginTypes.event],
  platforms: [windowsPlatform],
  config: { platforms: [`windows/${hostPlatform.architecture}`, "linux/amd64"], shims: {} },
  init: async (context) => {
    skipUnlessWindows();
    const ops = await loadWin32LayerOps();
    // A rootfs runhcs left mounted is a windows-layer mount; one never mounted is no error.
    return openShimManager(context, windowsShimPlatform({ unmountRootfs: (rootfs) => unmountWindowsLayer(ops, rootfs).catch(() => undefined) }));
  },
  close: (manager) => manager.close(),
};
