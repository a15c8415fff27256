import { join } from "node:path";

/**
 * containerd's overlayfs layout: `<root>/metadata.db`, and per snapshot `snapshots/<id>/fs` (the
 * layer: upperdir while active, a lowerdir once committed) and `snapshots/<id>/work` (the
 * workdir, active snapshots only). New snapshots are built in `snapshots/new-*`, removed ones
 * wait in `snapshots/rm-*`.
 */
export class Layout {
  readonly metadata: string;
  readonly snapshots: string;

  constructor(readonly root: string) {
    this.metadata = join(root, "metadata.db");
    this.snapshots = join(root, "snapshots");
  }

  dir(id: number): string {
    return join(this.snapshots, String(id));
  }

  fs(id: number): string {
    return join(this.snapshots, String(id), "fs");
  }

  work(id: number): string {
    return join(this.snapshots, String(id), "work");
  }
}
