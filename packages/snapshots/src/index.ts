/**
 * @berth/snapshots: what Berth's snapshotters share: the lmdb metastore of snapshot records
 * (containerd's snapshots/storage), disk usage as containerd measures it, and the directory
 * handling of snapshotters that keep a directory per snapshot, and the snapshotter plugin type. The conformance
 * suite is `@berth/snapshots/testsuite`.
 */
export { SnapshotDirectories } from "./directories.js";
export { DirectorySnapshotter } from "./directory-snapshotter.js";
export { diskUsage } from "./disk-usage.js";
export { treeMark } from "./tree-mark.js";
export type { MetastoreReader, MetastoreWriter, StoredInfo, StoredSnapshot } from "./metastore.js";
export { Metastore } from "./metastore.js";
export { snapshotterPluginType } from "./plugin-type.js";
