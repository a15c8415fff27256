import { randomBytes } from "node:crypto";
import {
  type CallContext,
  type Lease,
  type LeaseManager,
  type LeaseResource,
  type Timestamp,
  alreadyExists,
  notFound,
  notImplemented,
  nowTimestamp,
  requireNamespace,
  invalidArgument,
  validateDigest,
} from "@berth/api";
import { adaptObject, parseFilters } from "@berth/filters";
import type { ScopedTable } from "./scoped-table.js";
import type { MetadataStore } from "./metadata.js";
import { withoutEmpty } from "./labels.js";

export interface LeaseRecord {
  createdAt: Timestamp;
  labels: Record<string, string>;
  resources: LeaseResource[];
}

export const expireLabel = "containerd.io/gc.expire";

const resourceTypes = /^(content|ingests|snapshots\/[^/]+)$/;

/** Something that collects garbage: now (and wait), or soon. */
export interface Collector {
  collect(): Promise<void>;
  schedule(): void;
}

/** Leases kept in the metadata store, per namespace. */
export class LeaseService implements LeaseManager {
  readonly table: ScopedTable<LeaseRecord>;

  constructor(
    private readonly store: MetadataStore,
    private readonly collector: Collector,
  ) {
    this.table = store.scoped<LeaseRecord>("leases");
  }

  async create(context: CallContext, lease: { id: string; labels: Readonly<Record<string, string>> }): Promise<Lease> {
    const namespace = requireNamespace(context);
    // containerd 1.6 checks neither the id nor the labels of a new lease; any length is stored
    const id = lease.id === "" ? randomBytes(16).toString("base64url") : lease.id;
    const record: LeaseRecord = { createdAt: nowTimestamp(), labels: withoutEmpty(lease.labels), resources: [] };
    await this.store.transaction(() => {
      if (this.table.get(namespace, id) !== undefined) throw alreadyExists(`lease ${JSON.stringify(id)}`);
      this.store.ensureNamespace(namespace);
      this.table.put(namespace, id, record);
    });
    return { id, createdAt: record.createdAt, labels: record.labels };
  }

  async delete(context: CallContext, id: string, sync = false): Promise<void> {
    const namespace = requireNamespace(context);
    await this.store.transaction(() => {
      if (this.table.get(namespace, id) === undefined) throw notFound(`lease ${JSON.stringify(id)}`);
      this.table.remove(namespace, id);
    });
    if (sync) await this.collector.collect();
    else this.collector.schedule();
  }

  async list(context: CallContext, filters: readonly string[]): Promise<Lease[]> {
    const namespace = requireNamespace(context);
    const filter = parseFilters(filters);
    const leases: Lease[] = [];
    for (const { id, value } of this.table.inNamespace(namespace)) {
      if (filter.match(adaptObject({ id, labels: value.labels }, ["labels"]))) leases.push({ id, createdAt: value.createdAt, labels: value.labels });
    }
    return leases;
  }

  async addResource(context: CallContext, id: string, resource: LeaseResource): Promise<void> {
    const namespace = requireNamespace(context);
    checkResource(resource);
    await this.store.transaction(() => this.attach(namespace, id, resource));
  }

  /** Adds a resource inside the caller's transaction; used by services that create under a lease. */
  attach(namespace: string, id: string, resource: LeaseResource): void {
    const record = this.table.get(namespace, id);
    if (record === undefined) throw notFound(`lease ${JSON.stringify(id)}`);
    if (record.resources.some((r) => r.type === resource.type && r.id === resource.id)) return;
    this.table.put(namespace, id, { ...record, resources: [...record.resources, { id: resource.id, type: resource.type }] });
  }

  async deleteResource(context: CallContext, id: string, resource: LeaseResource): Promise<void> {
    const namespace = requireNamespace(context);
    checkResource(resource);
    await this.store.transaction(() => {
      const record = this.table.get(namespace, id);
      if (record === undefined) throw notFound(`lease ${JSON.stringify(id)}`);
      this.table.put(namespace, id, { ...record, resources: record.resources.filter((r) => !(r.type === resource.type && r.id === resource.id)) });
    });
    this.collector.schedule();
  }

  async listResources(context: CallContext, id: string): Promise<LeaseResource[]> {
    const namespace = requireNamespace(context);
    const record = this.table.get(namespace, id);
    if (record === undefined) throw notFound(`lease ${JSON.stringify(id)}`);
    return record.resources;
  }
}

function checkResource(resource: LeaseResource): void {
  if (resource.id === "") throw invalidArgument("resource.id: must not be empty");
  if (!resourceTypes.test(resource.type)) throw notImplemented(`resource type ${JSON.stringify(resource.type)}`);
  if (resource.type === "content") validateDigest(resource.id, "resource.id");
}

/** Whether a lease's `containerd.io/gc.expire` time has passed; an unparsable time never expires. */
export function leaseExpired(labels: Readonly<Record<string, string>>, now = Date.now()): boolean {
  const expire = labels[expireLabel];
  if (expire === undefined) return false;
  const at = Date.parse(expire);
  return !Number.isNaN(at) && at <= now;
}
