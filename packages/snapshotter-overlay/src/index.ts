/**
 * @berth/snapshotter-overlay: containerd's overlayfs snapshotter (Berth's default), on the
 * shared lmdb metastore of @berth/snapshots, with containerd's on-disk layout and mount shapes;
 * `overlayPlugin` is its registration for a host of @berth/plugin's plugins (berthd).
 */
export type { OverlaySnapshotterOptions } from "./snapshotter.js";
export { OverlaySnapshotter } from "./snapshotter.js";
export type { OverlaySupport } from "./support.js";
export { kernelHasOverlayIndex, overlaySupported } from "./support.js";
export { overlayPlugin } from "./plugin.js";
