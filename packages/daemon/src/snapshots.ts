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
  isKind,
  notFound,
  nowTimestamp,
  requireNamespace,
  validateLabels,
} from "@berth/api";
import { adaptObject, parseFilters } from "@berth/filters";
import type { Database } from "lmdb";
import { applyMapPaths, checkPaths, withoutEmpty } from "./labels.js";
import type { LeaseService } from "./leases.js";
import type { MetadataStore } from "./metadata.js";

export interface SnapshotRecord {
  /** The snapshot's key in the backend, unique across namespaces. */
  backendKey: string;
  parent: string;
  kind: SnapshotKind;
  labels: Record<string, string>;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** Labels with this prefix are passed to the backend snapshotter; others live in metadata only. */
const backendLabelPrefix = "containerd.io/snapshot/";

const backendLabels = (labels: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(labels).filter(([key]) => key.startsWith(backendLabelPrefix)));

/**
 * One backend snapshotter as namespaces see it: each namespace has its own keyspace, kept in the
 * metadata store and mapped to unique backend keys, and its own labels. Publishes containerd's
 * `/snapshot/prepare|commit|remove` events.
 */
export class NamespacedSnapshotter implements Snapshotter {
  readonly table: Database<SnapshotRecord, string>;

  constructor(
    readonly name: string,
    readonly backend: Snapshotter,
    private readonly store: MetadataStore,
    private readonly leases: LeaseService,
    private readonly publisher: Publisher,
    private readonly types: TypeRegistry,
  ) {
    this.table = store.scoped<SnapshotRecord>(`snapshots/${name}`, `snapshots on ${JSON.stringify(name)} snapshotter`);
  }

  #record(namespace: string, key: string): SnapshotRecord {
    const record = this.table.get(`${namespace}/${key}`);
    if (record === undefined) throw notFound(`snapshot ${JSON.stringify(key)} does not exist`);
    return record;
  }

  #info(key: string, record: SnapshotRecord): SnapshotInfo {
    return { name: key, parent: record.parent, kind: record.kind, labels: record.labels, createdAt: record.createdAt, updatedAt: record.updatedAt };
  }

  async stat(context: CallContext, key: string): Promise<SnapshotInfo> {
    const namespace = requireNamespace(context);
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
      this.table.put(`${namespace}/${info.name}`, next);
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
    if (this.table.get(`${namespace}/${key}`) !== undefined) throw alreadyExists(`snapshot ${JSON.stringify(key)}`);
    const backendParent = parent === "" ? "" : this.#record(namespace, parent).backendKey;
    const backendKey = `${namespace}/${randomBytes(8).toString("hex")}/${key}`;
    const mounts =
      kind === "active"
        ? await this.backend.prepare({}, backendKey, backendParent, backendLabels(labels))
        : await this.backend.view({}, backendKey, backendParent, backendLabels(labels));
    const now = nowTimestamp();
    try {
      await this.store.transaction(() => {
        if (this.table.get(`${namespace}/${key}`) !== undefined) throw alreadyExists(`snapshot ${JSON.stringify(key)}`);
        this.store.ensureNamespace(namespace);
        this.table.put(`${namespace}/${key}`, { backendKey, parent, kind, labels: withoutEmpty(labels), createdAt: now, updatedAt: now });
        if (context.lease) this.leases.attach(namespace, context.lease, { type: `snapshots/${this.name}`, id: key });
      });
    } catch (error) {
      await this.backend.remove({}, backendKey).catch(() => undefined);
      throw error;
    }
    await this.publisher.publish(context, "/snapshot/prepare", this.types.pack("containerd.events.SnapshotPrepare", { key, parent, snapshotter: this.name }));
    return mounts;
  }

  async commit(context: CallContext, name: string, key: string, labels: Readonly<Record<string, string>> = {}): Promise<void> {
    const namespace = requireNamespace(context);
    validateLabels(labels, "labels");
    const record = this.#record(namespace, key);
    if (this.table.get(`${namespace}/${name}`) !== undefined) throw alreadyExists(`snapshot ${JSON.stringify(name)}`);
    const backendName = `${namespace}/${randomBytes(8).toString("hex")}/${name}`;
    await this.backend.commit({}, backendName, record.backendKey, backendLabels(labels));
    const now = nowTimestamp();
    await this.store.transaction(() => {
      this.table.remove(`${namespace}/${key}`);
      // As containerd: the committed snapshot has the commit's labels, not the active one's.
      this.table.put(`${namespace}/${name}`, { backendKey: backendName, parent: record.parent, kind: "committed", labels: withoutEmpty(labels), createdAt: now, updatedAt: now });
      if (context.lease) this.leases.attach(namespace, context.lease, { type: `snapshots/${this.name}`, id: name });
    });
    await this.publisher.publish(context, "/snapshot/commit", this.types.pack("containerd.events.SnapshotCommit", { key, name, snapshotter: this.name }));
  }

  async remove(context: CallContext, key: string): Promise<void> {
    const namespace = requireNamespace(context);
    const record = this.#record(namespace, key);
    await this.backend.remove({}, record.backendKey).catch((error: unknown) => {
      // Gone from the backend already (a crash between the two steps): finish the removal.
      if (!isKind(error, "NotFound")) throw error;
    });
    await this.store.transaction(() => this.table.remove(`${namespace}/${key}`));
    await this.publisher.publish(context, "/snapshot/remove", this.types.pack("containerd.events.SnapshotRemove", { key, snapshotter: this.name }));
  }

  async *list(context: CallContext, filters: readonly string[]): AsyncIterable<SnapshotInfo> {
    const namespace = requireNamespace(context);
    const filter = parseFilters(filters);
    for (const { id, value } of this.store.inNamespace(this.table, namespace)) {
      if (filter.match(adaptObject({ name: id, parent: value.parent, kind: value.kind, labels: value.labels }, ["labels"]))) yield this.#info(id, value);
    }
  }

  async cleanup(context: CallContext): Promise<void> {
    requireNamespace(context);
    await this.backend.cleanup({});
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}
