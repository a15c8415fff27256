import { type ContentStore, isKind } from "@berth/api";
import type { BackendRemovals } from "./backend-removals.js";
import type { CallActivity } from "./call-activity.js";
import type { ScopedTable } from "./scoped-table.js";
import type { ContainerRecord } from "./containers.js";
import type { BlobRecord, IngestRecord } from "./content.js";
import { backendRef } from "./content.js";
import type { ImageRecord } from "./images.js";
import { type Collector, type LeaseRecord, leaseExpired } from "./leases.js";
import type { Logger } from "./log.js";
import type { MetadataStore } from "./metadata.js";
import type { Mutex } from "./mutex.js";
import type { SnapshotSharing } from "./sharing.js";
import type { SnapshotRecord } from "./snapshots.js";

const gcRoot = "containerd.io/gc.root";
const gcFlat = "containerd.io/gc.flat";
const contentRef = /^containerd\.io\/gc\.ref\.content(?:[./].*)?$/;
const snapshotRef = /^containerd\.io\/gc\.ref\.snapshot\.([^/]+)(?:\/.*)?$/;

/** A node of the reference graph: `content` or `snapshot:<snapshotter>`, and the object's id. */
interface Reference {
  readonly kind: string;
  readonly id: string;
}

/** What `labels` keep alive. */
function references(labels: Readonly<Record<string, string>>): Reference[] {
  const found: Reference[] = [];
  for (const [key, value] of Object.entries(labels)) {
    if (contentRef.test(key)) found.push({ kind: "content", id: value });
    const snapshot = snapshotRef.exec(key);
    if (snapshot !== null) found.push({ kind: `snapshot:${snapshot[1]}`, id: value });
  }
  return found;
}

export interface GcTables {
  readonly images: ScopedTable<ImageRecord>;
  readonly containers: ScopedTable<ContainerRecord>;
  readonly blobs: ScopedTable<BlobRecord>;
  readonly ingests: ScopedTable<IngestRecord>;
  readonly leases: ScopedTable<LeaseRecord>;
  /** Each snapshotter's records and the queue that removes its backend snapshots, by snapshotter name. */
  readonly snapshots: ReadonlyMap<string, { table: ScopedTable<SnapshotRecord>; removals: BackendRemovals }>;
  readonly sharing: SnapshotSharing;
}

export interface GcResult {
  readonly blobsRemoved: number;
  readonly snapshotsRemoved: number;
  readonly recordsRemoved: number;
  readonly leasesExpired: number;
}

/**
 * Mark and sweep, as containerd's GC: roots are images, containers, unexpired leases and objects labelled
 * `containerd.io/gc.root`; references follow `containerd.io/gc.ref.content*` and
 * `containerd.io/gc.ref.snapshot.<snapshotter>` labels, and snapshots keep their parents. Metadata
 * is swept in one write transaction; then the backend snapshots of swept records are removed
 * (children first), and blobs that no namespace references are deleted from the shared store,
 * under `guard` so that no namespace can link a blob while it is being deleted.
 */
export class GarbageCollector implements Collector {
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(
    private readonly store: MetadataStore,
    private readonly tables: () => GcTables,
    private readonly backend: ContentStore,
    private readonly guard: Mutex,
    private readonly logger: Logger,
    private readonly delayMs = 100,
    /** When given, a scheduled collection waits for a pause in the daemon's calls (see CallActivity). */
    private readonly calls?: CallActivity,
  ) {}

  /** Collects soon, in a pause between calls; many calls in a burst make one collection. */
  schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(async () => {
      await this.calls?.quiet();
      if (this.#stopped) return;
      this.#timer = undefined;
      this.collect().catch((error: unknown) => this.logger.error({ err: error }, "garbage collection failed"));
    }, this.delayMs);
    this.#timer.unref();
  }

  /** Collects now; resolves when a collection that started after this call has finished. */
  collect(): Promise<void> {
    const run = this.#chain.catch(() => undefined).then(() => this.#run());
    this.#chain = run;
    return run.then(() => undefined);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #run(): Promise<GcResult> {
    const started = process.hrtime.bigint();
    return this.guard.run(async () => {
      // What is still referenced is read in the sweep's own transaction: a read after it could see
      // an older snapshot and miss a blob linked just before, then delete it.
      const { recordsRemoved, leasesExpired, abandonedIngests, removedSnapshots, referenced } = await this.store.transaction(() => this.#sweepMetadata());
      for (const ref of abandonedIngests) {
        await this.backend.abort({}, ref).catch((error: unknown) => {
          if (!isKind(error, "NotFound")) throw error;
        });
      }
      let snapshotsRemoved = 0;
      for (const { snapshotter, backendKey } of removedSnapshots) {
        // Behind the removals Snapshots.Remove queued: a child removed there goes before its parent here.
        if (await this.tables().snapshots.get(snapshotter)?.removals.remove(backendKey)) snapshotsRemoved++;
      }
      let blobsRemoved = 0;
      for await (const info of this.backend.list({}, [])) {
        if (referenced.has(info.digest)) continue;
        await this.backend.delete({}, info.digest).catch((error: unknown) => {
          if (!isKind(error, "NotFound")) throw error;
        });
        blobsRemoved++;
      }
      const result = { blobsRemoved, snapshotsRemoved, recordsRemoved, leasesExpired };
      this.logger.debug({ ...result, seconds: Number(process.hrtime.bigint() - started) / 1e9 }, "garbage collected");
      return result;
    });
  }

  /** Runs inside one write transaction. */
  #sweepMetadata(): {
    recordsRemoved: number;
    leasesExpired: number;
    abandonedIngests: string[];
    removedSnapshots: { snapshotter: string; backendKey: string }[];
    referenced: Set<string>;
  } {
    const { images, containers, blobs, ingests, leases, snapshots, sharing } = this.tables();
    const now = Date.now();
    // A node is `<kind>|<namespace>/<id>`; kinds never contain "|".
    const marked = new Set<string>();
    const queue: { kind: string; namespace: string; id: string }[] = [];
    const keptIngests = new Set<string>();
    const mark = (namespace: string, { kind, id }: Reference, follow = true) => {
      const node = `${kind}|${namespace}/${id}`;
      if (marked.has(node)) return;
      marked.add(node);
      if (follow) queue.push({ kind, namespace, id });
    };

    let leasesExpired = 0;
    for (const { namespace, id, value } of [...leases.everywhere()]) {
      if (leaseExpired(value.labels, now)) {
        leases.remove(namespace, id);
        leasesExpired++;
        continue;
      }
      const flat = value.labels[gcFlat] !== undefined;
      for (const resource of value.resources) {
        if (resource.type === "content") mark(namespace, { kind: "content", id: resource.id }, !flat);
        else if (resource.type === "ingests") keptIngests.add(`${namespace}/${resource.id}`);
        else mark(namespace, { kind: `snapshot:${resource.type.slice("snapshots/".length)}`, id: resource.id }, !flat);
      }
    }
    for (const { namespace, value } of images.everywhere()) {
      mark(namespace, { kind: "content", id: value.target.digest });
      for (const reference of references(value.labels)) mark(namespace, reference);
    }
    for (const { namespace, value } of containers.everywhere()) {
      if (value.snapshotter !== "" && value.snapshotKey !== "") mark(namespace, { kind: `snapshot:${value.snapshotter}`, id: value.snapshotKey });
      for (const reference of references(value.labels)) mark(namespace, reference);
    }
    for (const { namespace, id, value } of blobs.everywhere()) {
      if (value.labels[gcRoot] !== undefined) mark(namespace, { kind: "content", id });
    }
    for (const [name, { table }] of snapshots) {
      for (const { namespace, id, value } of table.everywhere()) {
        if (value.labels[gcRoot] !== undefined) mark(namespace, { kind: `snapshot:${name}`, id });
      }
    }
    while (queue.length > 0) {
      const { kind, namespace, id } = queue.pop()!;
      const record = kind === "content" ? blobs.get(namespace, id) : snapshots.get(kind.slice("snapshot:".length))?.table.get(namespace, id);
      if (record === undefined) continue;
      if ("parent" in record && record.parent !== "") mark(namespace, { kind, id: record.parent });
      for (const reference of references(record.labels)) mark(namespace, reference);
    }

    let recordsRemoved = 0;
    for (const { namespace, id } of [...blobs.everywhere()]) {
      if (marked.has(`content|${namespace}/${id}`)) continue;
      this.logger.debug({ namespace, digest: id }, "collecting blob");
      blobs.remove(namespace, id);
      recordsRemoved++;
    }
    const removedSnapshots: { snapshotter: string; backendKey: string; depth: number }[] = [];
    for (const [name, { table }] of snapshots) {
      const depth = (namespace: string, record: SnapshotRecord): number => {
        let count = 0;
        for (let parent = record.parent; parent !== "" && count < 1000; count++) parent = table.get(namespace, parent)?.parent ?? "";
        return count;
      };
      // Depths are measured before any record goes, or a removed parent would shorten them.
      const swept = [...table.everywhere()]
        .filter(({ namespace, id }) => !marked.has(`snapshot:${name}|${namespace}/${id}`))
        .map(({ namespace, id, value }) => ({ namespace, id, backendKey: value.backendKey, depth: depth(namespace, value) }));
      for (const { namespace, id } of swept) table.remove(namespace, id);
      recordsRemoved += swept.length;
      // A backend snapshot other namespaces still name (a shared, verified one) stays.
      const stillNamed = new Set<string>();
      for (const { value } of table.everywhere()) stillNamed.add(value.backendKey);
      const gone = new Map<string, number>();
      for (const { backendKey, depth } of swept) if (!stillNamed.has(backendKey)) gone.set(backendKey, Math.max(depth, gone.get(backendKey) ?? 0));
      for (const [backendKey, depth] of gone) {
        sharing.removed(name, backendKey);
        removedSnapshots.push({ snapshotter: name, backendKey, depth });
      }
    }
    // Children before parents: the backend refuses to remove a snapshot that has children.
    removedSnapshots.sort((a, b) => b.depth - a.depth);
    const abandonedIngests: string[] = [];
    for (const { namespace, id, value } of [...ingests.everywhere()]) {
      // Kept while a live lease holds it or its day has not passed; a lease's ingest goes with the lease.
      if (keptIngests.has(`${namespace}/${id}`) || (value.expiresAt !== 0 && value.expiresAt > now)) continue;
      ingests.remove(namespace, id);
      abandonedIngests.push(backendRef(namespace, id));
    }
    const referenced = new Set<string>();
    for (const { id } of blobs.everywhere()) referenced.add(id);
    return { recordsRemoved, leasesExpired, abandonedIngests, removedSnapshots, referenced };
  }
}
