import { readdirSync, renameSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { type SnapshotUsage, failedPrecondition } from "@berth/api";
import type { Metastore } from "./metastore.js";

const noUsage: SnapshotUsage = Object.freeze({ size: 0, inodes: 0 });
const idName = /^[1-9][0-9]*$/;

/**
 * What snapshotters that keep each snapshot in a directory `<snapshots>/<id>` (containerd's
 * overlayfs and native) do alike: commit with a usage measured first, removal by renaming the
 * directory to `rm-<id>` in the transaction that drops the record, and cleanup of directories no
 * record owns. New directories are theirs to make (as `new-*`, renamed to `<id>` in the
 * transaction that records them).
 */
export class SnapshotDirectories {
  constructor(
    private readonly store: Metastore,
    /** The `snapshots` directory that holds them. */
    readonly snapshots: string,
  ) {}

  dir(id: number): string {
    return join(this.snapshots, String(id));
  }

  /**
   * Commits active `key` as `name`. Its usage is fixed now: `measure(id)` runs outside the
   * transaction, which checks that `key` is still the snapshot measured.
   */
  async commit(
    key: string,
    name: string,
    labels: Readonly<Record<string, string>> | undefined,
    measure: (id: number) => Promise<SnapshotUsage>,
  ): Promise<void> {
    const { id, info } = this.store.view((tx) => tx.getInfo(key));
    const usage = info.kind === "active" ? await measure(id) : noUsage;
    this.store.update((tx) => {
      if (tx.getInfo(key).id !== id) throw failedPrecondition(`snapshot ${JSON.stringify(key)} changed during commit`);
      tx.commitActive(key, name, usage, labels);
    });
  }

  /** Drops `key`'s record and renames its directory (if any) to rm-<id> in one transaction, then deletes it. */
  async remove(key: string): Promise<void> {
    let moved: { from: string; to: string } | undefined;
    try {
      this.store.update((tx) => {
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

  /** Removes every entry under snapshots/ that no record owns: crash leftovers (new-*, rm-*, an orphaned <id>) and failed removals. */
  async cleanup(): Promise<void> {
    const ids = this.store.view((tx) => tx.ids());
    const doomed: string[] = [];
    for (const name of readdirSync(this.snapshots)) {
      if (idName.test(name) && ids.has(Number(name))) continue;
      // An orphaned <id> is renamed first, so that a crash halfway leaves rm-<id>, never a partial <id>.
      let aside: { to: string } | undefined;
      try {
        aside = idName.test(name) ? this.#moveAside(name) : undefined;
      } catch {
        aside = undefined;
      }
      doomed.push(aside?.to ?? join(this.snapshots, name));
    }
    for (const path of doomed) await rm(path, { recursive: true, force: true });
  }

  /** Renames snapshots/<name> to rm-<name>; undefined if there is no such directory. */
  #moveAside(name: string): { from: string; to: string } | undefined {
    const from = join(this.snapshots, name);
    const to = join(this.snapshots, `rm-${name}`);
    try {
      renameSync(from, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    return { from, to };
  }
}
