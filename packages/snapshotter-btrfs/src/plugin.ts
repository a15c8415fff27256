import { mkdirSync } from "node:fs";
import type { Snapshotter } from "@berth/api";
import { type Plugin, SkipPlugin, hostPlatform } from "@berth/plugin";
import { snapshotterPluginType } from "@berth/snapshots";
import { BtrfsSnapshotter } from "./snapshotter.js";
import { btrfsSupported } from "./support.js";

/** containerd's `io.containerd.snapshotter.v1 btrfs`: skips itself, with containerd's reason, on any filesystem but btrfs. */
export const btrfsPlugin: Plugin<Snapshotter, { root_path: string }> = {
  type: snapshotterPluginType,
  id: "btrfs",
  platforms: [hostPlatform],
  // As containerd's: root_path puts the snapshotter on a btrfs filesystem elsewhere than the root.
  config: { root_path: "" },
  init: async ({ root, config, exports }) => {
    const path = config.root_path || root;
    mkdirSync(path, { recursive: true, mode: 0o700 });
    const support = btrfsSupported(path);
    if (!support.supported) throw new SkipPlugin(support.reason ?? `path ${path} must be a btrfs filesystem to be used with the btrfs snapshotter`);
    exports.root = path;
    return BtrfsSnapshotter.open(path);
  },
  close: (snapshotter) => snapshotter.close(),
};
