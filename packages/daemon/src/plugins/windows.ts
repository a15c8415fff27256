import type { ShimManager } from "@berth/runtime-linux";
import { skipUnlessWindows, windowsPluginPlatform } from "@berth/runtime-windows/plugins";
import type { Plugin } from "./registry.js";
import { openShimManager } from "./runtime.js";
import { hostPlatform, pluginTypes } from "./types.js";

export interface WindowsRuntimeConfig {
  /** containerd's runtime platforms on Windows: the host's and linux/amd64 (LCOW). */
  platforms: string[];
  /** The shim binary per runtime name, before the search on %PATH% for `containerd-shim-<name>-<version>.exe`. */
  shims: Record<string, string>;
}

/**
 * The shim v2 core with the Windows seam (named pipes, `containerd-shim-runhcs-v1.exe`, the
 * reversed log pipe): containerd's runtime v2 on Windows, skipping itself anywhere else. It opens
 * the daemon's shim manager, so it stays in the daemon; the Windows snapshotter and differ come
 * with @berth/runtime-windows. Listed before the Linux one, so that the Tasks service uses it where it loads.
 * The package's layer and shim code is imported only once the host is Windows: berthd on Linux registers
 * this plugin (`ctr plugins ls` lists it, skipped) without holding that code.
 */
export const windowsRuntimePlugin: Plugin<ShimManager, WindowsRuntimeConfig> = {
  type: pluginTypes.runtime,
  id: "runhcs",
  requires: [pluginTypes.event],
  platforms: [windowsPluginPlatform],
  config: { platforms: [`windows/${hostPlatform.architecture}`, "linux/amd64"], shims: {} },
  init: async (context) => {
    skipUnlessWindows();
    const [{ loadWin32LayerOps, unmountWindowsLayer }, { windowsShimPlatform }] = await Promise.all([
      import("@berth/runtime-windows"),
      import("@berth/runtime-windows/shim"),
    ]);
    const ops = await loadWin32LayerOps();
    // A rootfs runhcs left mounted is a windows-layer mount; one never mounted is no error.
    return openShimManager(context, windowsShimPlatform({ unmountRootfs: (rootfs) => unmountWindowsLayer(ops, rootfs).catch(() => undefined) }));
  },
  close: (manager) => manager.close(),
};
