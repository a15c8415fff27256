import { renameSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Mount, failedPrecondition } from "@berth/api";
import { DirectorySnapshotter, type StoredSnapshot } from "@berth/snapshots";
import { copyTree } from "./copy.js";

/**
 * containerd's native snapshotter: snapshot records in `<root>/metadata.db` (the shared lmdb
 * metastore) and a plain directory per snapshot, `<root>/snapshots/<id>`, holding its whole tree,
 * so it works on any filesystem. A backend: the call context is ignored (namespacing is the daemon's).
 *
 * - prepare: a new directory (0755), filled with a copy of the parent's tree (`copyTree`).
 *   view: without a parent a new empty directory; with one, no directory (it mounts the parent's).
 * - mounts, as containerd 1.6 returns them: one bind, `["rbind", "rw"]` for an active snapshot
 *   (its own directory), `["rbind", "ro"]` for a view (its own, or its parent's).
 * - commit only records, with the directory's usage; usage of an active snapshot is measured when
 *   asked. Both count the whole tree, the parent's copy included, as containerd's native does.
 * - remove renames the directory to `rm-<id>` in the transaction that drops the record, then
 *   deletes it (`SnapshotDirectories`).
 *
 * The copy runs before the transaction (it can take long, and a transaction must not await): the
 * directory is built under `snapshots/new-*` and renamed to `<id>` inside the transaction that
 * records it, after checking the parent is still the one copied. A failure keeps neither;
 * whatever a crash leaves (new-*, rm-*, an <id> without a record) is removed by `cleanup`.
 */
export class NativeSnapshotter extends DirectorySnapshotter {
  /** As the constructor, in the shape of the other snapshotters' `open`. */
  static async open(root: string): Promise<NativeSnapshotter> {
    return new NativeSnapshotter(root);
  }

  /** Its whole tree: a copy of its parent, so any write shows. Usage counts the parent's copy too, as containerd's native does. */
  protected writtenTree(id: number): string {
    return this.directories.dir(id);
  }

  protected mountsOf(snapshot: StoredSnapshot): Mount[] {
    const [nearest] = snapshot.parentIds;
    const source = snapshot.kind === "view" && nearest !== undefined ? nearest : snapshot.id;
    return [{ type: "bind", source: this.directories.dir(source), options: ["rbind", snapshot.kind === "view" ? "ro" : "rw"] }];
  }

  /**
   * Records a new snapshot. An active snapshot, or a view without a parent, gets its directory:
   * made (and the parent copied into it) before the transaction, renamed to its id inside it.
   */
  protected async create(kind: "active" | "view", key: string, parent: string, labels: Readonly<Record<string, string>> | undefined): Promise<StoredSnapshot> {
    if (kind === "view" && parent !== "") return this.store.update((tx) => tx.createSnapshot(kind, key, parent, labels));
    const made = await mkdtemp(join(this.directories.snapshots, "new-"));
    try {
      await chmod(made, 0o755);
      const copied = this.#parentToCopy(key, parent);
      if (copied !== undefined) {
        try {
          await copyTree(this.directories.dir(copied), made);
        } catch (error) {
          // A parent removed meanwhile is the caller's NotFound, not a failed copy.
          this.store.view((tx) => tx.getInfo(parent));
          throw error;
        }
      }
      return this.store.update((tx) => {
        const snapshot = tx.createSnapshot(kind, key, parent, labels);
        if (snapshot.parentIds[0] !== copied) throw failedPrecondition(`parent ${JSON.stringify(parent)} changed while it was copied`);
        renameSync(made, this.directories.dir(snapshot.id));
        return snapshot;
      });
    } catch (error) {
      await rm(made, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * The id of the committed parent whose tree a new snapshot copies; undefined for no parent and
   * when the transaction is going to refuse anyway (key taken, parent unknown or not committed),
   * so that its error comes without a useless copy first.
   */
  #parentToCopy(key: string, parent: string): number | undefined {
    if (parent === "") return undefined;
    return this.store.view((tx) => {
      if (exists(() => tx.getInfo(key)) !== undefined) return undefined;
      const found = exists(() => tx.getInfo(parent));
      return found?.info.kind === "committed" ? found.id : undefined;
    });
  }
}

/** What `read` returns, or undefined if it throws (NotFound, typically). */
function exists<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
