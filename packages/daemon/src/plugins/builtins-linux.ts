import { windowsDifferPlugin, windowsSnapshotterPlugin } from "@berth/runtime-windows/plugins";
import { btrfsPlugin } from "@berth/snapshotter-btrfs";
import { nativePlugin } from "@berth/snapshotter-native";
import { overlayPlugin } from "@berth/snapshotter-overlay";
import type { PlatformBuiltins } from "./builtins.js";
import { differPlugin } from "./core.js";
import { cgroupsMonitorPlugin } from "./monitor.js";
import { runtimeV1Plugin } from "./runtime-v1.js";
import { runtimePlugin } from "./runtime.js";
import { windowsRuntimePlugin } from "./windows.js";

/**
 * berthd's built-ins on Linux. containerd's Windows plugins are registered here too: they skip
 * themselves with their reason, so `ctr plugins ls` on Linux shows them (status skip).
 */
export const linuxBuiltins: PlatformBuiltins = {
  snapshotters: [overlayPlugin, btrfsPlugin, nativePlugin, windowsSnapshotterPlugin],
  differs: [windowsDifferPlugin, differPlugin],
  monitors: [cgroupsMonitorPlugin],
  runtimes: [runtimeV1Plugin, windowsRuntimePlugin, runtimePlugin],
};
