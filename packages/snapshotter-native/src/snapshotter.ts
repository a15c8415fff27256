import { mkdirSync, readdirSync, renameSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { type CallContext, type Mount, type SnapshotInfo, type SnapshotUsage, type Snapshotter, failedPrecondition } from "@berth/api";
import { Metastore, type StoredSnapshot, diskUsage } from "@berth/snapshots";
import { copyTree } from "./copy.js";
import { Layout } from "./layout.js";

const noUsage: SnapshotUsage = Object.freeze({ size: 0, inodes: 0 });
const idName = /^[1-9][0-9]*$/;

/**
 * containerd's native snapshotter: snapshot records in `<root>/metadata.db` (the shared lmdb
 * metastore), a plain directory per snapshot (see `Layout`), so it works on any filesystem. A
 * backend: the call context is ignored (namespacing is the daemon's).
 *
 * - prepare: a new directory (0755), filled with a copy of the parent's tree (`copyTree`).
 *   view: without a parent a new empty directory; with one, no directory (it mounts the parent's).
 * - mounts, as containerd 1.6 returns them: one bind, `["rbind", "rw"]` for an active snapshot
 *   (its own directory), `["rbind", "ro"]` for a view (its own, or its parent's).
 * - commit only records, with the directory's usage; usage of an active snapshot is measured when
 *   asked. Both count the whole tree, the parent's copy included, as containerd's native does.
 * - remove renames the directory to `rm-<id>` in the transaction that drops the record, then
 *   deletes it.
 *
 * The copy runs before the transaction (it can take long, and a transaction must not await): the
 * directory is built under `new-*` and renamed to `<id>` inside the transaction that records it,
 * after checking the parent is still the one copied. A failure keeps neither; whatever a crash
 * leaves (new-*, rm-*, an <id> without a record) is removed by `cleanup`.
 */
export class NativeSnapshotter implements Snapshotter {
  readonly root: string;
  readonly #layout: Layout;
  readonly #store: Metastore;

  /** Opens (making what is missing) the snapshotter at `root`. */
  constructor(root: string) {
    this.root = root;
    this.#layout = new Layout(root);
    mkdirSync(root, { recursive: true, mode: 0o700 });
    mkdirSync(this.#layout.snapshots, { recursive: true, mode: 0o700 });
    this.#store = Metastore.open(this.#layout.metadata);
  }

  /** As the constructor, in the shape of the other snapshotters' `open`. */
  static async open(root: string): Promise<NativeSnapshotter> {
    return new NativeSnapshotter(root);
  }

  async stat(_context: CallContext, key: string): Promise<SnapshotInfo> {
    return this.#store.view((tx) => tx.getInfo(key)).info;
  }

  async update(_context: CallContext, info: Pick<SnapshotInfo, "name" | "labels">, fieldpaths: readonly string[]): Promise<SnapshotInfo> {
    return this.#store.update((tx) => tx.updateInfo(info, fieldpaths));
  }

  async usage(_context: CallContext, key: string): Promise<SnapshotUsage> {
    const { id, info, usage } = this.#store.view((tx) => tx.getInfo(key));
    return info.kind === "active" ? diskUsage(this.#layout.dir(id)) : usage;
  }

  async mounts(_context: CallContext, key: string): Promise<Mount[]> {
    return this.#mounts(this.#store.view((tx) => tx.getSnapshot(key)));
  }

  async prepare(_context: CallContext, key: string, parent: string, labels?: Readonly<Record<string, string>>): Promise<Mount[]> {
    return this.#mounts(await this.#create("active", key, parent, labels));
  }

  async view(_context: CallContext, key: string, parent: string, labels?: Readonly<Record<string, string>>): Promise<Mount[]> {
    return this.#mounts(await this.#create("view", key, parent, labels));
  }

  async commit(_context: CallContext, name: string, key: string, labels?: Readonly<Record<string, string>>): Promise<void> {
    const { id, info } = this.#store.view((tx) => tx.getInfo(key));
    // The usage is fixed now; measuring happens outside the transaction, which checks the rest.
    const usage = info.kind === "active" ? await diskUsage(this.#layout.dir(id)) : noUsage;
    this.#store.update((tx) => {
      if (tx.getInfo(key).id !== id) throw failedPrecondition(`snapshot ${JSON.stringify(key)} changed during commit`);
      tx.commitActive(key, name, usage, labels);
    });
  }

  async remove(_context: CallContext, key: string): Promise<void> {
    let moved: { from: string; to: string } | undefined;
    try {
      this.#store.update((tx) => {
        const { id } = tx.remove(key);
        moved = this.#moveAside(String(id));
      });
    } catch (error) {
      // The record stays, so its directory must too.
      if (moved !== undefined) renameSync(moved.to, moved.from);
      throw error;
    }
    // The record is gone: a failure here only leaves garbage for cleanup, so it is not the caller's.
    if (moved !== undefined) await rm(moved.to, { recursive: true, force: true }).catch(() => undefined);
  }

  async *list(_context: CallContext, filters: readonly string[]): AsyncIterable<SnapshotInfo> {
    yield* this.#store.view((tx) => tx.walk(filters));
  }

  /** Removes every directory under snapshots/ that no record owns: crash leftovers and failed removals. */
  async cleanup(_context: CallContext): Promise<void> {
    const ids = this.#store.view((tx) => tx.ids());
    const doomed: string[] = [];
    for (const name of readdirSync(this.#layout.snapshots)) {
      if (idName.test(name) && ids.has(Number(name))) continue;
      // An orphaned <id> is renamed first, so that a crash halfway leaves rm-<id>, never a partial <id>.
      let aside: { to: string } | undefined;
      try {
        aside = idName.test(name) ? this.#moveAside(name) : undefined;
      } catch {
        aside = undefined;
      }
      doomed.push(aside?.to ?? join(this.#layout.snapshots, name));
    }
    for (const path of doomed) await rm(path, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    await this.#store.close();
  }

  #mounts(snapshot: StoredSnapshot): Mount[] {
    const [nearest] = snapshot.parentIds;
    const source = snapshot.kind === "view" && nearest !== undefined ? nearest : snapshot.id;
    return [{ type: "bind", source: this.#layout.dir(source), options: ["rbind", snapshot.kind === "view" ? "ro" : "rw"] }];
  }

  /**
   * Records a new snapshot. An active snapshot, or a view without a parent, gets its directory:
   * made (and the parent copied into it) before the transaction, renamed to its id inside it.
   */
  async #create(kind: "active" | "view", key: string, parent: string, labels: Readonly<Record<string, string>> | undefined): Promise<StoredSnapshot> {
    if (kind === "view" && parent !== "") return this.#store.update((tx) => tx.createSnapshot(kind, key, parent, labels));
    const made = await mkdtemp(join(this.#layout.snapshots, "new-"));
    try {
      await chmod(made, 0o755);
      const copied = this.#parentToCopy(key, parent);
      if (copied !== undefined) {
        try {
          await copyTree(this.#layout.dir(copied), made);
        } catch (error) {
          // A parent removed meanwhile is the caller's NotFound, not a failed copy.
          this.#store.view((tx) => tx.getInfo(parent));
          throw error;
        }
      }
      return this.#store.update((tx) => {
        const snapshot = tx.createSnapshot(kind, key, parent, labels);
        if (snapshot.parentIds[0] !== copied) throw failedPrecondition(`parent ${JSON.stringify(parent)} changed while it was copied`);
        renameSync(made, this.#layout.dir(snapshot.id));
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
    return this.#store.view((tx) => {
      if (exists(() => tx.getInfo(key)) !== undefined) return undefined;
      const found = exists(() => tx.getInfo(parent));
      return found?.info.kind === "committed" ? found.id : undefined;
    });
  }

  /** Renames snapshots/<name> to rm-<name>; undefined if there is no such directory. */
  #moveAside(name: string): { from: string; to: string } | undefined {
    const from = join(this.#layout.snapshots, name);
    const to = this.#layout.removal(name);
    try {
      renameSync(from, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    return { from, to };
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
