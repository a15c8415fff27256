import { type Mount, type SnapshotInfo, type SnapshotKind, type Snapshotter, invalidArgument } from "@berth/api";
import { snapshotsV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";
import { batches } from "./batches.js";

const { Kind } = snapshotsV1;

const kindToWire: Record<SnapshotKind, snapshotsV1.Kind> = { view: Kind.VIEW, active: Kind.ACTIVE, committed: Kind.COMMITTED };

const infoMessage = (info: SnapshotInfo): snapshotsV1.Info => ({ ...info, kind: kindToWire[info.kind], labels: { ...info.labels } });
const mountMessages = (mounts: Mount[]) => ({
  mounts: mounts.map((m) => ({ type: m.type, source: m.source, target: m.target ?? "", options: [...m.options] })),
});

/** Snapshots of every loaded snapshotter, chosen per request by name as containerd does. */
export function snapshotsHandlers(snapshotters: ReadonlyMap<string, Snapshotter>): ServiceHandlers<typeof snapshotsV1.SnapshotsDefinition> {
  return handlersPicking((name) => {
    if (name === "") throw invalidArgument("snapshotter argument missing");
    const snapshotter = snapshotters.get(name);
    if (snapshotter === undefined) throw invalidArgument(`snapshotter not loaded: ${name}`);
    return snapshotter;
  });
}

/** One snapshotter whatever name a request gives, as a proxy plugin serves it (the daemon sends the plugin's own name). */
export function snapshotterHandlers(snapshotter: Snapshotter): ServiceHandlers<typeof snapshotsV1.SnapshotsDefinition> {
  return handlersPicking(() => snapshotter);
}

function handlersPicking(pick: (name: string) => Snapshotter): ServiceHandlers<typeof snapshotsV1.SnapshotsDefinition> {
  return {
    prepare: async (r, context) => mountMessages(await pick(r.snapshotter).prepare(context, r.key, r.parent, r.labels)),
    view: async (r, context) => mountMessages(await pick(r.snapshotter).view(context, r.key, r.parent, r.labels)),
    mounts: async (r, context) => mountMessages(await pick(r.snapshotter).mounts(context, r.key)),
    commit: async (r, context) => {
      if (r.parent !== "") throw invalidArgument("parent: rebasing a snapshot at commit is not supported");
      await pick(r.snapshotter).commit(context, r.name, r.key, r.labels);
      return {};
    },
    remove: async (r, context) => {
      await pick(r.snapshotter).remove(context, r.key);
      return {};
    },
    stat: async (r, context) => ({ info: infoMessage(await pick(r.snapshotter).stat(context, r.key)) }),
    update: async (r, context) => {
      if (r.info === undefined) throw invalidArgument("info: must be set");
      return { info: infoMessage(await pick(r.snapshotter).update(context, r.info, r.updateMask ?? [])) };
    },
    list: async function* (r, context) {
      for await (const batch of batches(pick(r.snapshotter).list(context, r.filters))) yield { info: batch.map(infoMessage) };
    },
    usage: async (r, context) => pick(r.snapshotter).usage(context, r.key),
    cleanup: async (r, context) => {
      await pick(r.snapshotter).cleanup(context);
      return {};
    },
  };
}
