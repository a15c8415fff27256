/**
 * @berth/snapshotter-btrfs: containerd's btrfs snapshotter, a subvolume per snapshot, on the
 * shared lmdb metastore of @berth/snapshots, with containerd's layout and mount shapes. Its
 * plugin, `btrfsPlugin`, checks `btrfsSupported(root)` and skips itself with the reason when root is not btrfs.
 */
export { BtrfsSnapshotter } from "./snapshotter.js";
export type { BtrfsSupport } from "./support.js";
export { btrfsSupported } from "./support.js";
export { btrfsPlugin } from "./plugin.js";
