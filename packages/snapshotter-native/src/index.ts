/**
 * @berth/snapshotter-native: containerd's native snapshotter, a plain directory per snapshot
 * (a full copy of its parent), on the shared lmdb metastore of @berth/snapshots, with
 * containerd's layout and mount shapes. It works on any filesystem, so its plugin, `nativePlugin`,
 * never skips itself.
 */
export { NativeSnapshotter } from "./snapshotter.js";
export { nativePlugin } from "./plugin.js";
