import { mkdirSync } from "node:fs";
import type { Snapshotter } from "@berth/api";
import { type Plugin, SkipPlugin, hostPlatform } from "@berth/plugin";
import { snapshotterPluginType } from "@berth/snapshots";
import { OverlaySnapshotter } from "./snapshotter.js";
import { overlaySupported } from "./support.js";

/** containerd's `io.containerd.snapshotter.v1 overlayfs`, the default snapshotter; skips itself where overlayfs cannot run on its root. */
export const overlayPlugin: Plugin<Snapshotter> = {
  type: snapshotterPluginType,
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
