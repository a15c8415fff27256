/**
 * @berth/snapshots: what Berth's snapshotters share: the lmdb metastore of snapshot records
 * (containerd's snapshots/storage) and disk usage as containerd measures it. The conformance
 * suite is `@berth/snapshots/testsuite`.
 */
export { diskUsage } from "./disk-usage.js";
export type { MetastoreReader, MetastoreWriter, StoredInfo, StoredSnapshot } from "./metastore.js";
export { Metastore } from "./metastore.js";
