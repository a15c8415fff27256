import type { Snapshotter } from "@berth/api";
import { type Plugin, hostPlatform } from "@berth/plugin";
import { snapshotterPluginType } from "@berth/snapshots";
import { NativeSnapshotter } from "./snapshotter.js";

/** containerd's `io.containerd.snapshotter.v1 native`: plain directory copies work on any filesystem, so it never skips itself. */
export const nativePlugin: Plugin<Snapshotter, { root_path: string }> = {
  type: snapshotterPluginType,
  id: "native",
  platforms: [hostPlatform],
  config: { root_path: "" },
  init: async ({ root, config, exports }) => {
    const path = config.root_path || root;
    exports.root = path;
    return NativeSnapshotter.open(path);
  },
  close: (snapshotter) => snapshotter.close(),
};
