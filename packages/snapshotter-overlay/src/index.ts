/**
 * @berth/snapshotter-overlay: containerd's overlayfs snapshotter (Berth's default), on the
 * shared lmdb metastore of @berth/snapshots, with containerd's on-disk layout and mount shapes.
 */
export type { OverlaySnapshotterOptions } from "./snapshotter.js";
export { OverlaySnapshotter } from "./snapshotter.js";
export type { OverlaySupport } from "./support.js";
export { kernelHasOverlayIndex, overlaySupported } from "./support.js";
