import type { CallContext } from "@berth/api";
import type { Client } from "./client.js";

/** A lease's life when its holder dies before deleting it, as ctr's default (24 h). */
const leaseLifeMs = 86_400_000;

/**
 * Runs `work` under a new lease in `namespace` (default: the client's), as containerd's
 * client.WithLease: what it writes stays safe from GC until the lease is deleted afterwards.
 */
export async function withLease<T>(client: Client, work: (context: CallContext) => Promise<T>, namespace = client.namespace): Promise<T> {
  const owner: CallContext = { namespace };
  const lease = await client.leases.create(owner, { id: "", labels: { "containerd.io/gc.expire": new Date(Date.now() + leaseLifeMs).toISOString() } });
  try {
    return await work({ namespace, lease: lease.id });
  } finally {
    await client.leases.delete(owner, lease.id).catch(() => undefined);
  }
}
