import { type CallContext, type Lease, type LeaseManager, type LeaseResource, goZeroTime } from "@berth/api";
import * as leasesV1 from "@berth/api/gen/containerd/services/leases/v1/leases";
import type { ServiceClient } from "@berth/api/services";

const leaseOf = (lease: leasesV1.Lease | undefined): Lease => ({
  id: lease?.id ?? "",
  createdAt: lease?.createdAt ?? goZeroTime,
  labels: lease?.labels ?? {},
});

/** Leases through a daemon's Leases service. */
export class LeasesProxy implements LeaseManager {
  constructor(private readonly service: ServiceClient<typeof leasesV1.LeasesDefinition>) {}

  async create(context: CallContext, lease: { id: string; labels: Readonly<Record<string, string>> }): Promise<Lease> {
    return leaseOf((await this.service.create({ id: lease.id, labels: { ...lease.labels } }, context)).lease);
  }

  async delete(context: CallContext, id: string, sync = false): Promise<void> {
    await this.service.delete({ id, sync }, context);
  }

  async list(context: CallContext, filters: readonly string[]): Promise<Lease[]> {
    return (await this.service.list({ filters: [...filters] }, context)).leases.map(leaseOf);
  }

  async addResource(context: CallContext, id: string, resource: LeaseResource): Promise<void> {
    await this.service.addResource({ id, resource: { ...resource } }, context);
  }

  async deleteResource(context: CallContext, id: string, resource: LeaseResource): Promise<void> {
    await this.service.deleteResource({ id, resource: { ...resource } }, context);
  }

  async listResources(context: CallContext, id: string): Promise<LeaseResource[]> {
    return (await this.service.listResources({ id }, context)).resources;
  }
}
