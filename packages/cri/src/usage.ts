import type { Client } from "@berth/client";

export interface SnapshotUsageSample {
  readonly size: number;
  readonly inodes: number;
  readonly timestamp: number;
}

/**
 * The disk use of every snapshot of namespace k8s.io, refreshed at most every
 * `stats_collect_period` seconds, as containerd's snapshot syncer keeps it: ImageFsInfo sums it,
 * container stats read their writable layer from it.
 */
export class SnapshotUsageCache {
  #samples = new Map<string, SnapshotUsageSample>();
  #refreshed = 0;
  #refreshing: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    private readonly snapshotterName: string,
    private readonly periodSeconds: number,
  ) {}

  async #refresh(): Promise<void> {
    const { client } = this;
    const snapshotter = client.snapshotter(this.snapshotterName);
    const ctx = client.context();
    const samples = new Map<string, SnapshotUsageSample>();
    for await (const info of snapshotter.list(ctx, [])) {
      try {
        const usage = await snapshotter.usage(ctx, info.name);
        samples.set(info.name, { size: Number(usage.size), inodes: Number(usage.inodes), timestamp: Date.now() * 1e6 });
      } catch {
        // removed meanwhile
      }
    }
    this.#samples = samples;
    this.#refreshed = Date.now();
  }

  /** The last samples; a stale set starts a refresh in the background (only the first call waits for one). */
  async samples(): Promise<ReadonlyMap<string, SnapshotUsageSample>> {
    if (Date.now() - this.#refreshed >= this.periodSeconds * 1000) {
      this.#refreshing ??= this.#refresh()
        .catch(() => undefined)
        .finally(() => (this.#refreshing = undefined));
      if (this.#refreshed === 0) await this.#refreshing;
    }
    return this.#samples;
  }
}
