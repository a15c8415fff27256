import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { type CallContext, type Mount, type SnapshotInfo, type SnapshotUsage, type Snapshotter, errorOfKind, failedPrecondition } from "@berth/api";
import { Metastore, type StoredSnapshot, diskUsage } from "@berth/snapshots";
import { createSubvolumeSync, deleteSubvolume, deleteSubvolumeSync, isSubvolume, snapshotSubvolumeSync, subvolumeGeneration, subvolumeId } from "./btrfs.js";
import { diffUsage } from "./diff-usage.js";
import { Layout } from "./layout.js";
import { btrfsSupported, lookupMount } from "./support.js";

const noUsage: SnapshotUsage = Object.freeze({ size: 0, inodes: 0 });

/**
 * containerd's btrfs snapshotter: snapshot records in `<root>/metadata.db` (the shared lmdb
 * metastore), a subvolume per snapshot (see `Layout`), and the mounts containerd returns:
 * `{type: "btrfs", source: <device>, options: ["subvolid=<n>"]}`, plus "ro" for views. The
 * device is the mount source of root's filesystem, looked up once when opened. A backend: the
 * call context is ignored (namespacing is the daemon's).
 *
 * - prepare/view: without a parent a new subvolume, else a snapshot of the parent's (read-only
 *   for a view); made inside the transaction that records it, deleted again if that fails.
 * - commit: a read-only snapshot `active/<id>` → `snapshots/<id>` inside the transaction, then
 *   the active subvolume is deleted.
 * - remove: the subvolume is renamed to `rm-<id>` inside the transaction that drops the record
 *   (renamed back if it fails), then deleted. containerd snapshots and deletes instead; a rename
 *   is the same promise for less work.
 * - usage of an active snapshot: what it adds over its parent (containerd's DiffUsage), or its
 *   whole disk usage without a parent; committed: measured at commit; views: zero.
 * Whatever a crash leaves (an `<id>` without a record, `rm-*`) is removed by `cleanup`.
 */
export class BtrfsSnapshotter implements Snapshotter {
  readonly root: string;
  /** The block device the mounts name: the mount source of root's btrfs filesystem. */
  readonly device: string;
  readonly #layout: Layout;
  readonly #store: Metastore;
  // Subvolume ids by path: a path names one subvolume for its life, and mounts() is hot.
  readonly #subvolumeIds = new Map<string, number>();

  /** Opens (making what is missing) the snapshotter at `root`; FailedPrecondition with the reason unless `root` is on btrfs. */
  constructor(root: string) {
    const support = btrfsSupported(root);
    if (!support.supported) throw errorOfKind("FailedPrecondition", support.reason ?? `btrfs snapshotter cannot run on ${root}`);
    this.root = root;
    this.#layout = new Layout(root);
    mkdirSync(root, { recursive: true, mode: 0o700 });
    chmodSync(root, 0o700);
    this.device = lookupMount(root).source;
    for (const [, dir] of this.#layout.kinds()) mkdirSync(dir, { recursive: true, mode: 0o755 });
    this.#store = Metastore.open(this.#layout.metadata);
  }

  /** As the constructor, in the shape of the other snapshotters' `open`. */
  static async open(root: string): Promise<BtrfsSnapshotter> {
    return new BtrfsSnapshotter(root);
  }

  async stat(_context: CallContext, key: string): Promise<SnapshotInfo> {
    return this.#store.view((tx) => tx.getInfo(key)).info;
  }

  async update(_context: CallContext, info: Pick<SnapshotInfo, "name" | "labels">, fieldpaths: readonly string[]): Promise<SnapshotInfo> {
    return this.#store.update((tx) => tx.updateInfo(info, fieldpaths));
  }

  async usage(_context: CallContext, key: string): Promise<SnapshotUsage> {
    const { id, info, usage } = this.#store.view((tx) => tx.getInfo(key));
    return info.kind === "active" ? this.#measure(id, info.parent) : usage;
  }

  async mounts(_context: CallContext, key: string): Promise<Mount[]> {
    return this.#mounts(this.#store.view((tx) => tx.getSnapshot(key)));
  }

  async prepare(_context: CallContext, key: string, parent: string, labels?: Readonly<Record<string, string>>): Promise<Mount[]> {
    return this.#mounts(this.#create("active", key, parent, labels));
  }

  async view(_context: CallContext, key: string, parent: string, labels?: Readonly<Record<string, string>>): Promise<Mount[]> {
    return this.#mounts(this.#create("view", key, parent, labels));
  }

  async commit(_context: CallContext, name: string, key: string, labels?: Readonly<Record<string, string>>): Promise<void> {
    const { id, info } = this.#store.view((tx) => tx.getInfo(key));
    // The usage is fixed now; measuring happens outside the transaction, which checks the rest.
    const usage = info.kind === "active" ? await this.#measure(id, info.parent) : noUsage;
    const active = this.#layout.subvolume("active", id);
    let made: string | undefined;
    try {
      this.#store.update((tx) => {
        if (tx.getInfo(key).id !== id) throw failedPrecondition(`snapshot ${JSON.stringify(key)} changed during commit`);
        tx.commitActive(key, name, usage, labels);
        const committed = this.#layout.subvolume("committed", id);
        snapshotSubvolumeSync(active, committed, true);
        made = committed;
      });
    } catch (error) {
      if (made !== undefined) deleteQuietlySync(made);
      throw error;
    }
    // Committed: a failure to delete the active subvolume only leaves garbage for cleanup.
    this.#subvolumeIds.delete(active);
    await deleteSubvolume(active).catch(() => undefined);
  }

  /**
   * The generation of the active subvolume (see `subvolumeGeneration`). A subvolume made inside
   * it by a container is left out, and rightly: commit's snapshot does not take its content.
   */
  async pristineMark(_context: CallContext, key: string): Promise<string> {
    return `generation:${await subvolumeGeneration(this.#layout.subvolume("active", this.#store.activeId(key)))}`;
  }

  async remove(_context: CallContext, key: string): Promise<void> {
    let moved: { from: string; to: string } | undefined;
    try {
      this.#store.update((tx) => {
        const { id, kind } = tx.remove(key);
        moved = moveAside(this.#layout.subvolume(kind, id), this.#layout.removal(kind, id));
      });
    } catch (error) {
      // The record stays, so its subvolume must too.
      if (moved !== undefined) renameSync(moved.to, moved.from);
      throw error;
    }
    if (moved === undefined) return;
    this.#subvolumeIds.delete(moved.from);
    // The record is gone: a failure here only leaves garbage for cleanup, so it is not the caller's.
    await deleteSubvolume(moved.to).catch(() => undefined);
  }

  async *list(_context: CallContext, filters: readonly string[]): AsyncIterable<SnapshotInfo> {
    yield* this.#store.view((tx) => tx.walk(filters));
  }

  /** Deletes whatever is in active/, view/ and snapshots/ that no record owns: crash leftovers, failed deletions. */
  async cleanup(_context: CallContext): Promise<void> {
    // Records and directories are read in one synchronous step, so nothing made meanwhile looks orphaned.
    const doomed = this.#store.view((tx) => {
      const owned = new Set<string>();
      for (const [id, key] of tx.ids()) owned.add(this.#layout.subvolume(tx.getInfo(key).info.kind, id));
      const found: string[] = [];
      for (const [, dir] of this.#layout.kinds()) {
        for (const name of readdirSync(dir)) if (!owned.has(join(dir, name))) found.push(join(dir, name));
      }
      return found;
    });
    const failures: unknown[] = [];
    for (const path of doomed) {
      try {
        if (await isSubvolume(path)) await deleteSubvolume(path);
        else await rm(path, { recursive: true, force: true });
      } catch (error) {
        // Gone meanwhile (a commit or remove deleting its own) is what cleanup wanted.
        if (existsSync(path)) failures.push(error);
      }
    }
    if (failures.length > 0)
      throw errorOfKind("Internal", `btrfs snapshotter cleanup: ${failures.map((e) => (e as Error).message).join("; ")}`, { cause: failures[0] });
  }

  async close(): Promise<void> {
    await this.#store.close();
  }

  /** One btrfs mount of the snapshot's subvolume by id; read-only unless active, as containerd returns it. */
  async #mounts(snapshot: StoredSnapshot): Promise<Mount[]> {
    const path = this.#layout.subvolume(snapshot.kind, snapshot.id);
    let id = this.#subvolumeIds.get(path);
    if (id === undefined) {
      id = await subvolumeId(path);
      this.#subvolumeIds.set(path, id);
    }
    const options = snapshot.kind === "active" ? [`subvolid=${id}`] : [`subvolid=${id}`, "ro"];
    return [{ type: "btrfs", source: this.device, options }];
  }

  /** Usage of active snapshot `id`: what it adds over `parent`, or all of it without one. */
  async #measure(id: number, parent: string): Promise<SnapshotUsage> {
    const subvolume = this.#layout.subvolume("active", id);
    if (parent === "") return diskUsage(subvolume);
    const parentId = this.#store.view((tx) => tx.getInfo(parent)).id;
    return diffUsage(this.#layout.subvolume("committed", parentId), subvolume);
  }

  /**
   * Records a new snapshot and makes its subvolume in one transaction. Any failure throws out of
   * the transaction, which then keeps no record, and a subvolume it made is deleted.
   */
  #create(kind: "active" | "view", key: string, parent: string, labels: Readonly<Record<string, string>> | undefined): StoredSnapshot {
    let made: string | undefined;
    try {
      return this.#store.update((tx) => {
        const snapshot = tx.createSnapshot(kind, key, parent, labels);
        const target = this.#layout.subvolume(kind, snapshot.id);
        const [nearest] = snapshot.parentIds;
        if (nearest === undefined) {
          createSubvolumeSync(target);
          made = target;
          // A new subvolume's root mode follows the umask; containerd runs with 022, giving 0755.
          chmodSync(target, 0o755);
        } else {
          snapshotSubvolumeSync(this.#layout.subvolume("committed", nearest), target, kind === "view");
          made = target;
        }
        return snapshot;
      });
    } catch (error) {
      if (made !== undefined) deleteQuietlySync(made);
      throw error;
    }
  }
}

/** Renames `from` to `to`; undefined if there is no `from`. */
function moveAside(from: string, to: string): { from: string; to: string } | undefined {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return { from, to };
}

/** Undoes a subvolume just made; if even that fails, cleanup will find it (it has no record). */
function deleteQuietlySync(path: string): void {
  try {
    deleteSubvolumeSync(path);
  } catch {
    // left for cleanup
  }
}
