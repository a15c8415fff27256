import { type Lease, type LeaseManager, type LeaseResource, invalidArgument } from "@berth/api";
import { leasesV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";

const leaseMessage = (lease: Lease): leasesV1.Lease => ({ id: lease.id, createdAt: lease.createdAt, labels: { ...lease.labels } });

function resourceOf(resource: leasesV1.Resource | undefined): LeaseResource {
  if (resource === undefined) throw invalidArgument("resource: must be set");
  return resource;
}

export function leasesHandlers(leases: LeaseManager): ServiceHandlers<typeof leasesV1.LeasesDefinition> {
  return {
    create: async ({ id, labels }, context) => ({ lease: leaseMessage(await leases.create(context, { id, labels })) }),
    delete: async ({ id, sync }, context) => {
      await leases.delete(context, id, sync);
      return {};
    },
    list: async ({ filters }, context) => ({ leases: (await leases.list(context, filters)).map(leaseMessage) }),
    addResource: async ({ id, resource }, context) => {
      await leases.addResource(context, id, resourceOf(resource));
      return {};
    },
    deleteResource: async ({ id, resource }, context) => {
      await leases.deleteResource(context, id, resourceOf(resource));
      return {};
    },
    listResources: async ({ id }, context) => ({ resources: await leases.listResources(context, id) }),
  };
}
