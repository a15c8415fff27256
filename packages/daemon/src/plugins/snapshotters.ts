import { mkdirSync } from "node:fs";
import type { Snapshotter } from "@berth/api";
import { OverlaySnapshotter, overlaySupported } from "@berth/snapshotter-overlay";
import { type Plugin, SkipPlugin } from "./registry.js";
import { pluginTypes } from "./types.js";

const hostPlatform = { os: "linux", architecture: process.arch === "x64" ? "amd64" : process.arch };

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
