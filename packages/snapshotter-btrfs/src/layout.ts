import { join } from "node:path";
import type { SnapshotKind } from "@berth/api";

/**
 * containerd's btrfs layout: `<root>/metadata.db`, and one subvolume per snapshot in the
 * directory of its kind: `active/<id>` (writable), `view/<id>` (read-only when it has a parent)
 * and `snapshots/<id>` (committed, read-only). Commit keeps the id, so `active/<id>` becomes
 * `snapshots/<id>`. A removed snapshot waits as `<kind dir>/rm-<id>` until deleted.
 */
export class Layout {
  readonly metadata: string;
  readonly active: string;
  readonly view: string;
  readonly snapshots: string;

  constructor(readonly root: string) {
    this.metadata = join(root, "metadata.db");
    this.active = join(root, "active");
    this.view = join(root, "view");
    this.snapshots = join(root, "snapshots");
  }

  /** The directories of the three kinds, each with its kind. */
  kinds(): [SnapshotKind, string][] {
    return [
      ["active", this.active],
      ["view", this.view],
      ["committed", this.snapshots],
    ];
  }

  kindDir(kind: SnapshotKind): string {
    return kind === "active" ? this.active : kind === "view" ? this.view : this.snapshots;
  }

  /** The subvolume of snapshot `id` of `kind`. */
  subvolume(kind: SnapshotKind, id: number): string {
    return join(this.kindDir(kind), String(id));
  }

  removal(kind: SnapshotKind, id: number): string {
    return join(this.kindDir(kind), `rm-${id}`);
  }
}
