import { type CallContext, type Mount, type SnapshotInfo, type SnapshotKind, type SnapshotUsage, type Snapshotter, goZeroTime } from "@berth/api";
import * as snapshotsV1 from "@berth/api/gen/containerd/services/snapshots/v1/snapshots";
import type { ServiceClient } from "@berth/api/services";

const kindFromWire: Record<number, SnapshotKind> = {
  [snapshotsV1.Kind.VIEW]: "view",
  [snapshotsV1.Kind.ACTIVE]: "active",
  [snapshotsV1.Kind.COMMITTED]: "committed",
};

function infoOf(info: snapshotsV1.Info | undefined): SnapshotInfo {
  return {
    name: info?.name ?? "",
    parent: info?.parent ?? "",
    kind: kindFromWire[info?.kind ?? 0] ?? "active",
    labels: info?.labels ?? {},
    createdAt: info?.createdAt ?? goZeroTime,
    updatedAt: info?.updatedAt ?? goZeroTime,
  };
}

const mountsOf = (response: { mounts: snapshotsV1.MountsResponse["mounts"] }): Mount[] => response.mounts.map((m) => ({ ...m, options: m.options }));

/**
 * One snapshotter of a remote daemon, through its Snapshots service. It has no `pristineMark`:
 * the Snapshots API cannot forward it, so a snapshotter behind a proxy never shares snapshots.
 */
export class SnapshotsProxy implements Snapshotter {
  constructor(
    private readonly service: ServiceClient<typeof snapshotsV1.SnapshotsDefinition>,
    readonly snapshotter: string,
  ) {}

  async stat(context: CallContext, key: string): Promise<SnapshotInfo> {
    return infoOf((await this.service.stat({ snapshotter: this.snapshotter, key }, context)).info);
  }

  async update(context: CallContext, info: Pick<SnapshotInfo, "name" | "labels">, fieldpaths: readonly string[]): Promise<SnapshotInfo> {
    const message = { name: info.name, parent: "", kind: snapshotsV1.Kind.UNKNOWN, createdAt: undefined, updatedAt: undefined, labels: { ...info.labels } };
    return infoOf((await this.service.update({ snapshotter: this.snapshotter, info: message, updateMask: [...fieldpaths] }, context)).info);
  }

  async usage(context: CallContext, key: string): Promise<SnapshotUsage> {
    return this.service.usage({ snapshotter: this.snapshotter, key }, context);
  }

  async mounts(context: CallContext, key: string): Promise<Mount[]> {
    return mountsOf(await this.service.mounts({ snapshotter: this.snapshotter, key }, context));
  }

  async prepare(context: CallContext, key: string, parent: string, labels: Readonly<Record<string, string>> = {}): Promise<Mount[]> {
    return mountsOf(await this.service.prepare({ snapshotter: this.snapshotter, key, parent, labels: { ...labels } }, context));
  }

  async view(context: CallContext, key: string, parent: string, labels: Readonly<Record<string, string>> = {}): Promise<Mount[]> {
    return mountsOf(await this.service.view({ snapshotter: this.snapshotter, key, parent, labels: { ...labels } }, context));
  }

  async commit(context: CallContext, name: string, key: string, labels: Readonly<Record<string, string>> = {}): Promise<void> {
    await this.service.commit({ snapshotter: this.snapshotter, name, key, labels: { ...labels }, parent: "" }, context);
  }

  async remove(context: CallContext, key: string): Promise<void> {
    await this.service.remove({ snapshotter: this.snapshotter, key }, context);
  }

  async *list(context: CallContext, filters: readonly string[]): AsyncIterable<SnapshotInfo> {
    for await (const { info } of this.service.list({ snapshotter: this.snapshotter, filters: [...filters] }, context)) yield* info.map(infoOf);
  }

  async cleanup(context: CallContext): Promise<void> {
    await this.service.cleanup({ snapshotter: this.snapshotter }, context);
  }

  async close(): Promise<void> {}
}
