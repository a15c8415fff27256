import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { CallContext, Mount, SnapshotInfo, SnapshotUsage, Snapshotter } from "@berth/api";
import { SnapshotDirectories } from "./directories.js";
import { diskUsage } from "./disk-usage.js";
import { Metastore, type StoredSnapshot } from "./metastore.js";
import { treeMark } from "./tree-mark.js";

/**
 * What a snapshotter keeping its records in `<root>/metadata.db` and each snapshot in a directory
 * `<root>/snapshots/<id>` (containerd's overlayfs and native) does whatever the directory holds:
 * stat, update, usage, commit, pristine marks, remove, list, cleanup. A subclass makes snapshots
 * (`create`: the record and its directory, all or nothing), gives their mounts, and names the tree
 * holding what was written into one (`writtenTree`: measured for usage, marked for sharing).
 * A backend: the call context is ignored (namespacing is the daemon's).
 */
export abstract class DirectorySnapshotter implements Snapshotter {
  readonly root: string;
  protected readonly store: Metastore;
  protected readonly directories: SnapshotDirectories;

  /** Opens (making what is missing) the records and the `snapshots` directory under `root`. */
  constructor(root: string) {
    this.root = root;
    const snapshots = join(root, "snapshots");
    mkdirSync(root, { recursive: true, mode: 0o700 });
    mkdirSync(snapshots, { recursive: true, mode: 0o700 });
    this.store = Metastore.open(join(root, "metadata.db"));
    this.directories = new SnapshotDirectories(this.store, snapshots);
  }

  /** The tree of snapshot `id` that holds what was written into it: its usage, and its pristine mark. */
  protected abstract writtenTree(id: number): string;

  protected abstract mountsOf(snapshot: StoredSnapshot): Mount[];

  /** Records a new snapshot and makes its directory; a failure keeps neither. */
  protected abstract create(
    kind: "active" | "view",
    key: string,
    parent: string,
    labels: Readonly<Record<string, string>> | undefined,
  ): StoredSnapshot | Promise<StoredSnapshot>;

  async stat(_context: CallContext, key: string): Promise<SnapshotInfo> {
    return this.store.view((tx) => tx.getInfo(key)).info;
  }

  async update(_context: CallContext, info: Pick<SnapshotInfo, "name" | "labels">, fieldpaths: readonly string[]): Promise<SnapshotInfo> {
    return this.store.update((tx) => tx.updateInfo(info, fieldpaths));
  }

  async usage(_context: CallContext, key: string): Promise<SnapshotUsage> {
    const { id, info, usage } = this.store.view((tx) => tx.getInfo(key));
    return info.kind === "active" ? diskUsage(this.writtenTree(id)) : usage;
  }

  async mounts(_context: CallContext, key: string): Promise<Mount[]> {
    return this.mountsOf(this.store.view((tx) => tx.getSnapshot(key)));
  }

  async prepare(_context: CallContext, key: string, parent: string, labels?: Readonly<Record<string, string>>): Promise<Mount[]> {
    return this.mountsOf(await this.create("active", key, parent, labels));
  }

  async view(_context: CallContext, key: string, parent: string, labels?: Readonly<Record<string, string>>): Promise<Mount[]> {
    return this.mountsOf(await this.create("view", key, parent, labels));
  }

  async commit(_context: CallContext, name: string, key: string, labels?: Readonly<Record<string, string>>): Promise<void> {
    await this.directories.commit(key, name, labels, (id) => diskUsage(this.writtenTree(id)));
  }

  /** A mark of the active snapshot's written tree (see `treeMark`), so that any write shows. */
  async pristineMark(_context: CallContext, key: string): Promise<string> {
    return treeMark(this.writtenTree(this.store.activeId(key)));
  }

  async remove(_context: CallContext, key: string): Promise<void> {
    await this.directories.remove(key);
  }

  async *list(_context: CallContext, filters: readonly string[]): AsyncIterable<SnapshotInfo> {
    yield* this.store.view((tx) => tx.walk(filters));
  }

  /** Removes every directory under snapshots/ that no record owns: crash leftovers and failed removals. */
  async cleanup(_context: CallContext): Promise<void> {
    await this.directories.cleanup();
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
