import type { Snapshotter } from "@berth/api";
import { WindowsDiffer, WindowsSnapshotter, loadWin32LayerOps, windowsDefaults, windowsSupport } from "@berth/runtime-windows";
import type { Metadata } from "./core.js";
import { type Plugin, SkipPlugin } from "./registry.js";
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
  /** The default runtime on Windows and the shim that serves it. */
  default_runtime_name: string;
}

/**
 * The shim v2 runtime with the Windows seam (named pipes, `containerd-shim-runhcs-v1.exe`, the
 * reversed log pipe). On Windows it needs the shared shim v2 core's Windows seam, which berthd does
 * not run yet, so it reports that instead of pretending.
 */
export const windowsRuntimePlugin: Plugin<never, WindowsRuntimeConfig> = {
  type: pluginTypes.runtime,
  id: "runhcs",
  requires: [pluginTypes.event],
  platforms: [windowsPlatform],
  config: { platforms: [`windows/${hostPlatform.architecture}`, "linux/amd64"], default_runtime_name: windowsDefaults.runtime },
  init: () => {
    skipUnlessWindows();
    throw new Error(`runtime ${windowsDefaults.runtime}: berthd does not drive Windows shims yet`);
  },
};
