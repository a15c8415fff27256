import { mkdirSync } from "node:fs";
import { type ContentStore, type Snapshotter, invalidArgument, isKind } from "@berth/api";
import { knownTypes } from "@berth/api/known-types";
import { LocalContentStore } from "@berth/content";
import { Exchange } from "@berth/events";
import { tempMountsOf } from "../config.js";
import { ContainerService } from "../containers.js";
import { NamespacedContentStore } from "../content.js";
import { Differ } from "../diff.js";
import { GarbageCollector, type GcTables } from "../gc.js";
import { ImageService } from "../images.js";
import { LeaseService } from "../leases.js";
import { MetadataStore } from "../metadata.js";
import { Mutex } from "../mutex.js";
import { NamespaceService } from "../namespaces.js";
import { SnapshotSharing } from "../sharing.js";
import { NamespacedSnapshotter } from "../snapshots.js";
import { contentProxyOf } from "./proxy.js";
import { type Plugin, SkipPlugin } from "./registry.js";
import { hostPlatform, pluginTypes } from "./types.js";

export const types = knownTypes();

/** Everything kept in the metadata store, and the collector of what it no longer references. */
export interface Metadata {
  readonly store: MetadataStore;
  readonly gc: GarbageCollector;
  readonly namespaces: NamespaceService;
  readonly leases: LeaseService;
  readonly content: NamespacedContentStore;
  readonly images: ImageService;
  /** Container records; `containers.record(namespace, id)` reads one for the daemon's own services (Tasks). */
  readonly containers: ContainerService;
  /** Every loaded snapshotter, namespaced, by name. */
  readonly snapshotters: ReadonlyMap<string, NamespacedSnapshotter>;
  /** Which committed snapshots namespaces share. */
  readonly sharing: SnapshotSharing;
}

/** Berth's keys (containerd's exchange has none): when a subscriber that stopped reading is dropped. */
export const exchangePlugin: Plugin<Exchange, { subscriber_max_queued_bytes: number; subscriber_stall_timeout_ms: number }> = {
  type: pluginTypes.event,
  id: "exchange",
  config: { subscriber_max_queued_bytes: 64 << 20, subscriber_stall_timeout_ms: 30_000 },
  init: ({ config, logger }) => {
    for (const [key, value] of Object.entries(config)) {
      if (!Number.isSafeInteger(value) || (value as number) < 0)
        throw invalidArgument(`plugins."${pluginTypes.event}.exchange".${key}: must be a non-negative integer`);
    }
    return new Exchange({ maxQueuedBytes: config.subscriber_max_queued_bytes, stallTimeoutMs: config.subscriber_stall_timeout_ms, logger, types });
  },
  close: (exchange) => exchange.close(),
};

export const contentPlugin: Plugin<ContentStore> = {
  type: pluginTypes.content,
  id: "content",
  init: ({ root, exports, daemon }) => {
    const proxy = contentProxyOf(daemon);
    if (proxy !== undefined) throw new SkipPlugin(`replaced by proxy plugin ${proxy}`);
    mkdirSync(root, { recursive: true, mode: 0o711 });
    exports.root = root;
    return new LocalContentStore(root);
  },
};

export const metadataPlugin: Plugin<Metadata, { gc_schedule_delay_ms: number }> = {
  type: pluginTypes.metadata,
  id: "lmdb",
  requires: [pluginTypes.content, pluginTypes.snapshotter, pluginTypes.event],
  config: { gc_schedule_delay_ms: 100 },
  init: async ({ root, exports, config, logger, calls, get, getAll }) => {
    exports.root = root;
    const store = MetadataStore.open(root);
    const exchange = get<Exchange>(pluginTypes.event);
    const backend = get<ContentStore>(pluginTypes.content);
    const guard = new Mutex();
    let tables: () => GcTables;
    const gc = new GarbageCollector(store, () => tables(), backend, guard, logger, config.gc_schedule_delay_ms, calls);
    const leases = new LeaseService(store, gc);
    const content = new NamespacedContentStore(backend, store, leases, exchange, types, gc, guard);
    const images = new ImageService(store, exchange, types, gc);
    const sharing = new SnapshotSharing(store);
    const containers = new ContainerService(store, exchange, types, gc);
    const snapshotters = new Map(
      [...getAll<Snapshotter>(pluginTypes.snapshotter)].map(([name, snapshotter]) => [
        name,
        new NamespacedSnapshotter(name, snapshotter, store, leases, exchange, types, sharing, { logger, removalDelayMs: config.gc_schedule_delay_ms, calls }),
      ]),
    );
    tables = () => ({
      images: images.table,
      containers: containers.table,
      blobs: content.blobs,
      ingests: content.ingests,
      leases: leases.table,
      snapshots: new Map([...snapshotters].map(([name, s]) => [name, { table: s.table, removals: s.removals }])),
      sharing,
    });
    const namespaces = new NamespaceService(store, exchange, types);
    // Backend snapshots whose removal a crash cut short (after the commit that dropped their last
    // record), before anyone can prepare.
    for (const [name, snapshotter] of snapshotters) {
      const removed = await snapshotter.removeOrphans().catch((error: unknown) => {
        logger.warn({ err: error, snapshotter: name }, "could not look for orphaned backend snapshots at start");
        return 0;
      });
      if (removed > 0) logger.info({ snapshotter: name, removed }, "removed backend snapshots no record names");
    }
    // Whatever was left unreferenced when the daemon stopped goes before it serves anyone; a
    // content proxy not up yet leaves that to the next collection rather than fail the daemon.
    await gc.collect().catch((error: unknown) => {
      if (!isKind(error, "Unavailable")) throw error;
      logger.warn({ err: error }, "garbage collection at start skipped: the content store is unavailable");
    });
    return { store, gc, namespaces, leases, content, images, containers, snapshotters, sharing };
  },
  close: async (metadata) => {
    metadata.gc.stop();
    await metadata.store.close();
  },
};

export const differPlugin: Plugin<Differ> = {
  type: pluginTypes.differ,
  id: "walking",
  requires: [pluginTypes.metadata],
  platforms: [hostPlatform],
  init: ({ get, daemon }) => {
    const metadata = get<Metadata>(pluginTypes.metadata);
    return new Differ(metadata.content, metadata.sharing, tempMountsOf(daemon));
  },
};
