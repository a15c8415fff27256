import type { Mount } from "@berth/api";
import type { StoredSnapshot } from "@berth/snapshots";
import type { Layout } from "./layout.js";

export interface OverlayMountOptions {
  readonly indexOff: boolean;
  readonly userxattr: boolean;
}

/**
 * The mounts of an active snapshot or view, shaped exactly as containerd 1.6's overlayfs
 * snapshotter returns them (consumers such as ctr and the diff applier parse them):
 * - no parent: a bind of its own fs, rw for active, ro for a view (overlay needs a lowerdir);
 * - a view of one parent: a read-only bind of the parent's fs;
 * - otherwise overlay, [index=off] [userxattr] [workdir= upperdir= (active only)]
 *   lowerdir=<parents' fs, nearest first>; without an upperdir the overlay is read-only.
 */
export function snapshotMounts(layout: Layout, snapshot: StoredSnapshot, options: OverlayMountOptions): Mount[] {
  const [nearest] = snapshot.parentIds;
  if (nearest === undefined) {
    return [{ type: "bind", source: layout.fs(snapshot.id), options: [snapshot.kind === "active" ? "rw" : "ro", "rbind"] }];
  }
  if (snapshot.kind !== "active" && snapshot.parentIds.length === 1) {
    return [{ type: "bind", source: layout.fs(nearest), options: ["ro", "rbind"] }];
  }
  const overlay: string[] = [];
  if (options.indexOff) overlay.push("index=off");
  if (options.userxattr) overlay.push("userxattr");
  if (snapshot.kind === "active") overlay.push(`workdir=${layout.work(snapshot.id)}`, `upperdir=${layout.fs(snapshot.id)}`);
  overlay.push(`lowerdir=${snapshot.parentIds.map((id) => layout.fs(id)).join(":")}`);
  return [{ type: "overlay", source: "overlay", options: overlay }];
}
