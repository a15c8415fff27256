import type { CallContext } from "./context.js";
import type { Timestamp } from "./timestamps.js";

export interface Lease {
  readonly id: string;
  readonly createdAt: Timestamp;
  readonly labels: Readonly<Record<string, string>>;
}

/** What a lease holds: `content` (a digest), `ingests` (a ref) or `snapshots/<snapshotter>` (a key). */
export interface LeaseResource {
  readonly id: string;
  readonly type: string;
}

/**
 * Leases protect work in progress from garbage collection: everything a call made under a lease
 * (the `containerd-lease` header) creates is a resource of that lease until the lease is deleted
 * or its `containerd.io/gc.expire` time (RFC 3339) passes.
 *
 * - `create`: an empty id gets a random one; AlreadyExists for a taken id; labels by containerd's rules.
 * - `delete`, `addResource`, `deleteResource`, `listResources`: NotFound for an unknown lease;
 *   `delete` with `sync` returns after a garbage collection has run.
 * - `addResource`: NotImplemented for a resource type other than the three above.
 * - `list` takes containerd filters on `id` and `labels.<key>`.
 */
export interface LeaseManager {
  create(context: CallContext, lease: { id: string; labels: Readonly<Record<string, string>> }): Promise<Lease>;
  delete(context: CallContext, id: string, sync?: boolean): Promise<void>;
  list(context: CallContext, filters: readonly string[]): Promise<Lease[]>;
  addResource(context: CallContext, id: string, resource: LeaseResource): Promise<void>;
  deleteResource(context: CallContext, id: string, resource: LeaseResource): Promise<void>;
  listResources(context: CallContext, id: string): Promise<LeaseResource[]>;
}
