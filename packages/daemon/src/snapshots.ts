import { randomBytes } from "node:crypto";
import {
  type CallContext,
  type Mount,
  type Publisher,
  type SnapshotInfo,
  type SnapshotKind,
  type SnapshotUsage,
  type Snapshotter,
  type Timestamp,
  type TypeRegistry,
  alreadyExists,
  failedPrecondition,
  notFound,
  nowTimestamp,
  requireNamespace,
  validateLabels,
} from "@berth/api";
import { adaptObject, parseFilters } from "@berth/filters";
import { BackendRemovals } from "./backend-removals.js";
import type { CallActivity } from "./call-activity.js";
import type { ScopedTable } from "./scoped-table.js";
import { applyMapPaths, checkPaths, withoutEmpty } from "./labels.js";
import type { LeaseService } from "./leases.js";
import type { Logger } from "./log.js";
import type { MetadataStore } from "./metadata.js";
import type { SnapshotSharing } from "./sharing.js";

export interface SnapshotRecord {
  /** The snapshot's key in the backend, unique across namespaces. */
  backendKey: string;
  parent: string;
  kind: SnapshotKind;
  labels: Record<string, string>;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** Set by unpackers on Prepare: the chain ID the snapshot will be committed as (containerd ≥ 1.4). */
const targetRefLabel = "containerd.io/snapshot.ref";

/** Labels with this prefix are passed to the backend snapshotter; others live in metadata only. */
const backendLabelPrefix = "containerd.io/snapshot/";

const backendLabels = (labels: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(labels).filter(([key]) => key.startsWith(backendLabelPrefix)));

/** Backend keys name the snapshot for people reading the backend; so much of a long name is enough. */
const backendNameBytes = 256;

/**
 * A backend key unique across namespaces (by its random part) and short enough for any backend's
 * metastore, whatever the length of the name a client chose.
 */
function newBackendKey(namespace: string, name: string): string {
  const shown = Buffer.byteLength(name) <= backendNameBytes ? name : `${[...name].slice(0, backendNameBytes / 4).join("")}…`;
  return `${namespace}/${randomBytes(8).toString("hex")}/${shown}`;
}

/**
 * One backend snapshotter as namespaces see it: each namespace has its own keyspace, kept in the
 * metadata store and mapped to unique backend keys, and its own labels. Publishes containerd's
 * `/snapshot/prepare|commit|remove` events.
 *
 * Committed snapshots that Berth verified (see SnapshotSharing) are shared: a Prepare labelled
 * `containerd.io/snapshot.ref=<chain ID>` in another namespace, onto the same parent, links the
 * existing backend snapshot under that name and answers AlreadyExists, as containerd does for
 * remote snapshotters, so the unpacker applies nothing. A backend snapshot goes when no
 * namespace's record refers to it any more: after the commit that drops the last record, as
 * containerd leaves it to its GC (see BackendRemovals).
 */
export class NamespacedSnapshotter implements Snapshotter {
  readonly table: ScopedTable<SnapshotRecord>;
  /** Where backend snapshots without a record go, in order; the GC's removals too. */
  readonly removals: BackendRemovals;

  constructor(
    readonly name: string,
    readonly backend: Snapshotter,
    private readonly store: MetadataStore,
    private readonly leases: LeaseService,
    private readonly publisher: Publisher,
    private readonly types: TypeRegistry,
    private readonly sharing: SnapshotSharing,
    options: { logger?: Logger; removalDelayMs?: number; calls?: CallActivity } = {},
  ) {
    this.table = store.scoped<SnapshotRecord>(`snapshots/${name}`, `snapshots on ${JSON.stringify(name)} snapshotter`);
    this.removals = new BackendRemovals(name, backend, options.logger, options.removalDelayMs, options.calls);
  }

  /** Removes the backend snapshots no record names (what a crash after a removal's commit left); only at start. */
  removeOrphans(): Promise<number> {
    const named = new Set<string>();
    for (const { value } of this.table.everywhere()) named.add(value.backendKey);
    return this.removals.removeOrphans(named);
  }

  #record(namespace: string, key: string): SnapshotRecord {
    const record = this.table.get(namespace, key);
    if (record === undefined) throw notFound(`snapshot ${JSON.stringify(key)} does not exist`);
    return record;
  }

  #info(key: string, record: SnapshotRecord): SnapshotInfo {
    return { name: key, parent: record.parent, kind: record.kind, labels: record.labels, createdAt: record.createdAt, updatedAt: record.updatedAt };
  }

  /**
   * A verified snapshot another namespace committed is linked here when this namespace looks up
   * its chain ID (as unpackers do before applying a layer) and already has its parent.
   */
  async stat(context: CallContext, key: string): Promise<SnapshotInfo> {
    const namespace = requireNamespace(context);
    if (this.table.get(namespace, key) === undefined) await this.#linkVerified(context, namespace, key, {});
    return this.#info(key, this.#record(namespace, key));
  }

  async update(context: CallContext, info: Pick<SnapshotInfo, "name" | "labels">, fieldpaths: readonly string[]): Promise<SnapshotInfo> {
    const namespace = requireNamespace(context);
    validateLabels(info.labels, "info.labels");
    checkPaths(fieldpaths, ["labels"], ["labels"], "snapshot");
    const record = await this.store.transaction(() => {
      const current = this.#record(namespace, info.name);
      const labels = fieldpaths.length === 0 ? withoutEmpty(info.labels) : (applyMapPaths(current.labels, info.labels, fieldpaths, "labels") ?? current.labels);
      const next = { ...current, labels, updatedAt: nowTimestamp() };
      this.table.put(namespace, info.name, next);
      return next;
    });
    return this.#info(info.name, record);
  }

  async usage(context: CallContext, key: string): Promise<SnapshotUsage> {
    const namespace = requireNamespace(context);
    return this.backend.usage({}, this.#record(namespace, key).backendKey);
  }

  async mounts(context: CallContext, key: string): Promise<Mount[]> {
    const namespace = requireNamespace(context);
    return this.backend.mounts({}, this.#record(namespace, key).backendKey);
  }

  prepare(context: CallContext, key: string, parent: string, labels: Readonly<Record<string, string>> = {}): Promise<Mount[]> {
    return this.#create(context, "active", key, parent, labels);
  }

  view(context: CallContext, key: string, parent: string, labels: Readonly<Record<string, string>> = {}): Promise<Mount[]> {
    return this.#create(context, "view", key, parent, labels);
  }

  async #create(context: CallContext, kind: "active" | "view", key: string, parent: string, labels: Readonly<Record<string, string>>): Promise<Mount[]> {
    const namespace = requireNamespace(context);
    validateLabels(labels, "labels");
    if (this.table.get(namespace, key) !== undefined) throw alreadyExists(`snapshot ${JSON.stringify(key)}`);
    const backendParent = parent === "" ? "" : this.#record(namespace, parent).backendKey;
    const target = labels[targetRefLabel];
    if (kind === "active" && target !== undefined) {
      const linkable = this.sharing.verified(this.name, target)?.parentBackendKey === backendParent;
      if (this.table.get(namespace, target) !== undefined || (linkable && (await this.#linkVerified(context, namespace, target, labels)))) {
        throw alreadyExists(`target snapshot ${JSON.stringify(target)}`);
      }
    }
    const backendKey = newBackendKey(namespace, key);
    const mounts =
      kind === "active"
        ? await this.backend.prepare({}, backendKey, backendParent, backendLabels(labels))
        : await this.backend.view({}, backendKey, backendParent, backendLabels(labels));
    // Only unpackers (containerd's and Berth's) name the target: no other prepare pays for a mark.
    if (kind === "active" && target !== undefined) await this.sharing.prepared(this.name, this.backend, backendKey, backendParent, mounts);
    const now = nowTimestamp();
    try {
      await this.store.transaction(() => {
        if (this.table.get(namespace, key) !== undefined) throw alreadyExists(`snapshot ${JSON.stringify(key)}`);
        this.store.ensureNamespace(namespace);
        this.table.put(namespace, key, { backendKey, parent, kind, labels: withoutEmpty(labels), createdAt: now, updatedAt: now });
        if (context.lease) this.leases.attach(namespace, context.lease, { type: `snapshots/${this.name}`, id: key });
      });
    } catch (error) {
      await this.backend.remove({}, backendKey).catch(() => undefined);
      await this.store.transaction(() => this.sharing.removed(this.name, backendKey));
      throw error;
    }
    await this.publisher.publish(context, "/snapshot/prepare", this.types.pack("containerd.events.SnapshotPrepare", { key, parent, snapshotter: this.name }));
    return mounts;
  }

  /**
   * Links the verified snapshot `chainId` into the namespace when the namespace already names its
   * parent (or it has none); true when it did.
   */
  async #linkVerified(context: CallContext, namespace: string, chainId: string, labels: Readonly<Record<string, string>>): Promise<boolean> {
    const verified = this.sharing.verified(this.name, chainId);
    if (verified === undefined) return false;
    const now = nowTimestamp();
    return this.store.transaction(() => {
      if (this.table.get(namespace, chainId) !== undefined || this.sharing.verified(this.name, chainId)?.backendKey !== verified.backendKey) return false;
      let parent: string | undefined = "";
      if (verified.parentBackendKey !== "") {
        parent = undefined;
        for (const { id, value } of this.table.inNamespace(namespace)) {
          if (value.kind === "committed" && value.backendKey === verified.parentBackendKey) parent = id;
        }
        if (parent === undefined) return false;
      }
      this.store.ensureNamespace(namespace);
      this.table.put(namespace, chainId, {
        backendKey: verified.backendKey,
        parent,
        kind: "committed",
        labels: withoutEmpty(labels),
        createdAt: now,
        updatedAt: now,
      });
      if (context.lease) this.leases.attach(namespace, context.lease, { type: `snapshots/${this.name}`, id: chainId });
      return true;
    });
  }

  async commit(context: CallContext, name: string, key: string, labels: Readonly<Record<string, string>> = {}): Promise<void> {
    const namespace = requireNamespace(context);
    validateLabels(labels, "labels");
    const record = this.#record(namespace, key);
    if (this.table.get(namespace, name) !== undefined) throw alreadyExists(`snapshot ${JSON.stringify(name)}`);
    const backendName = newBackendKey(namespace, name);
    await this.sharing.beforeCommit(this.name, record.backendKey);
    await this.backend.commit({}, backendName, record.backendKey, backendLabels(labels));
    const now = nowTimestamp();
    await this.store.transaction(() => {
      this.table.remove(namespace, key);
      // As containerd: the committed snapshot has the commit's labels, not the active one's.
      this.table.put(namespace, name, {
        backendKey: backendName,
        parent: record.parent,
        kind: "committed",
        labels: withoutEmpty(labels),
        createdAt: now,
        updatedAt: now,
      });
      this.sharing.committed(this.name, name, record.backendKey, backendName);
      if (context.lease) this.leases.attach(namespace, context.lease, { type: `snapshots/${this.name}`, id: name });
    });
    await this.publisher.publish(context, "/snapshot/commit", this.types.pack("containerd.events.SnapshotCommit", { key, name, snapshotter: this.name }));
  }

  /**
   * One commit drops the record (and, for the last record of a backend snapshot, its sharing, so
   * that no namespace links it meanwhile); the backend snapshot goes after the answer, in order.
   */
  async remove(context: CallContext, key: string): Promise<void> {
    const namespace = requireNamespace(context);
    const orphaned = await this.store.transaction(() => {
      const record = this.#record(namespace, key);
      for (const { value } of this.table.inNamespace(namespace)) {
        if (value.parent === key) throw failedPrecondition(`cannot remove snapshot ${JSON.stringify(key)} with child`);
      }
      const last = this.#references(record.backendKey) === 1;
      if (last) this.sharing.removed(this.name, record.backendKey);
      this.table.remove(namespace, key);
      return last ? record.backendKey : undefined;
    });
    if (orphaned !== undefined) void this.removals.remove(orphaned, true);
    await this.publisher.publish(context, "/snapshot/remove", this.types.pack("containerd.events.SnapshotRemove", { key, snapshotter: this.name }));
  }

  /** How many records, in all namespaces, refer to the backend snapshot. */
  #references(backendKey: string): number {
    let count = 0;
    for (const { value } of this.table.everywhere()) if (value.backendKey === backendKey) count++;
    return count;
  }

  async *list(context: CallContext, filters: readonly string[]): AsyncIterable<SnapshotInfo> {
    const namespace = requireNamespace(context);
    const filter = parseFilters(filters);
    for (const { id, value } of this.table.inNamespace(namespace)) {
      if (filter.match(adaptObject({ name: id, parent: value.parent, kind: value.kind, labels: value.labels }, ["labels"]))) yield this.#info(id, value);
    }
  }

  async cleanup(context: CallContext): Promise<void> {
    requireNamespace(context);
    await this.backend.cleanup({});
  }

  async close(): Promise<void> {
    await this.removals.settled();
    await this.backend.close();
  }
}
