import { windowsDifferPlugin, windowsSnapshotterPlugin } from "@berth/runtime-windows/plugins";
import type { PlatformBuiltins } from "./builtins.js";
import { windowsRuntimePlugin } from "./windows.js";

/** berthd's built-ins on Windows: containerd's `windows` snapshotter and differ and the runhcs runtime. */
export const windowsBuiltins: PlatformBuiltins = {
  snapshotters: [windowsSnapshotterPlugin],
  differs: [windowsDifferPlugin],
  monitors: [],
  runtimes: [windowsRuntimePlugin],
};
