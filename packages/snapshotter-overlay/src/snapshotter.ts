import { chmodSync, lchownSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Mount, errorOfKind } from "@berth/api";
import { DirectorySnapshotter, type StoredSnapshot } from "@berth/snapshots";
import { Layout } from "./layout.js";
import { snapshotMounts } from "./mounts.js";
import { kernelHasOverlayIndex, overlaySupported } from "./support.js";

export interface OverlaySnapshotterOptions {
  /** Add `index=off` to overlay mounts. Default: when the kernel has the overlay index parameter, as containerd decides. */
  readonly indexOff?: boolean;
  /** Add `userxattr` to overlay mounts, for rootless use in a user namespace. Default: false. */
  readonly userxattr?: boolean;
}

/**
 * containerd's overlayfs snapshotter: snapshot records in `<root>/metadata.db`, layers in
 * `<root>/snapshots/<id>/{fs,work}`, and the same mounts containerd returns. A backend: the call
 * context is ignored (namespacing is the daemon's). See `Layout` and `snapshotMounts`.
 *
 * Crash safety: a snapshot's directory is built under `new-*` and renamed to `<id>` inside the
 * transaction that records it, so a failure keeps neither; a removed snapshot's directory is
 * renamed to `rm-<id>` inside the transaction that drops its record and deleted afterwards.
 * Whatever a crash leaves (new-*, rm-*, an <id> without a record) is removed by `cleanup`.
 */
export class OverlaySnapshotter extends DirectorySnapshotter {
  readonly #layout: Layout;
  readonly #mountOptions: { indexOff: boolean; userxattr: boolean };

  constructor(root: string, options: OverlaySnapshotterOptions = {}) {
    super(root);
    this.#layout = new Layout(root);
    this.#mountOptions = { indexOff: options.indexOff ?? kernelHasOverlayIndex(), userxattr: options.userxattr ?? false };
  }

  /** Checks that this host can run overlayfs with `root` (FailedPrecondition with the reason if not), then opens. */
  static async open(root: string, options: OverlaySnapshotterOptions = {}): Promise<OverlaySnapshotter> {
    const support = await overlaySupported(root);
    if (!support.supported) throw errorOfKind("FailedPrecondition", `overlayfs snapshotter cannot run on ${root}: ${support.reason ?? "unsupported"}`);
    return new OverlaySnapshotter(root, options);
  }

  /** The upper directory: all that was written into the snapshot. */
  protected writtenTree(id: number): string {
    return this.#layout.fs(id);
  }

  protected mountsOf(snapshot: StoredSnapshot): Mount[] {
    return snapshotMounts(this.#layout, snapshot, this.#mountOptions);
  }

  /**
   * Records a new snapshot and makes its directory in one transaction: built under new-*, then
   * renamed to its id. Any failure throws out of the transaction, which then keeps no record, and
   * the directory is removed.
   */
  protected create(kind: "active" | "view", key: string, parent: string, labels: Readonly<Record<string, string>> | undefined): StoredSnapshot {
    let made: string | undefined;
    try {
      return this.store.update((tx) => {
        const snapshot = tx.createSnapshot(kind, key, parent, labels);
        made = mkdtempSync(join(this.#layout.snapshots, "new-"));
        const fs = join(made, "fs");
        mkdirSync(fs);
        chmodSync(fs, 0o755);
        if (kind === "active") {
          mkdirSync(join(made, "work"));
          chmodSync(join(made, "work"), 0o711);
        }
        const [nearest] = snapshot.parentIds;
        if (nearest !== undefined) {
          // The merged root shows the upper's owner, so it takes the parent's, as containerd does.
          const owner = statSync(this.#layout.fs(nearest));
          lchownSync(fs, owner.uid, owner.gid);
        }
        renameSync(made, this.#layout.dir(snapshot.id));
        made = this.#layout.dir(snapshot.id);
        return snapshot;
      });
    } catch (error) {
      if (made !== undefined) rmSync(made, { recursive: true, force: true });
      throw error;
    }
  }
}
