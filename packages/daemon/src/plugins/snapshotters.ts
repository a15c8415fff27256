import { mkdirSync } from "node:fs";
import type { Snapshotter } from "@berth/api";
import { BtrfsSnapshotter, btrfsSupported } from "@berth/snapshotter-btrfs";
import { NativeSnapshotter } from "@berth/snapshotter-native";
import { OverlaySnapshotter, overlaySupported } from "@berth/snapshotter-overlay";
import { type Plugin, SkipPlugin } from "./registry.js";
import { hostPlatform, pluginTypes } from "./types.js";


/** containerd's default snapshotter, and Berth's. */
export const overlayPlugin: Plugin<Snapshotter> = {
  type: pluginTypes.snapshotter,
  id: "overlayfs",
  platforms: [hostPlatform],
  init: async ({ root, exports }) => {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    const support = await overlaySupported(root);
    if (!support.supported) throw new SkipPlugin(support.reason ?? "overlayfs is not supported");
    exports.root = root;
    return new OverlaySnapshotter(root);
  },
  close: (snapshotter) => snapshotter.close(),
};

/** Subvolumes on a btrfs root; skips itself, with containerd's reason, on any other filesystem. */
export const btrfsPlugin: Plugin<Snapshotter, { root_path: string }> = {
  type: pluginTypes.snapshotter,
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

/** Plain directory copies: works on any filesystem, so it is always there, as in containerd. */
export const nativePlugin: Plugin<Snapshotter, { root_path: string }> = {
  type: pluginTypes.snapshotter,
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
