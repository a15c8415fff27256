import { join } from "node:path";

/**
 * containerd's native layout: `<root>/metadata.db`, and `snapshots/<id>`, the whole tree of an
 * active snapshot (a copy of its parent's), of a committed one, or of a view without a parent.
 * A view of a parent has no directory: it mounts the parent's. New snapshots are built in
 * `snapshots/new-*`, removed ones wait in `snapshots/rm-<id>`.
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

  removal(name: string): string {
    return join(this.snapshots, `rm-${name}`);
  }
}
