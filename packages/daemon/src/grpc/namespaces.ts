import { type Namespace, type NamespaceStore, invalidArgument } from "@berth/api";
import { namespacesV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";

function requiredNamespace(namespace: namespacesV1.Namespace | undefined): Namespace {
  if (namespace === undefined) throw invalidArgument("namespace: must be set");
  return namespace;
}

export function namespacesHandlers(service: NamespaceStore): ServiceHandlers<typeof namespacesV1.NamespacesDefinition> {
  return {
    get: async ({ name }, context) => ({ namespace: await service.get(context, name) }),
    list: async (_request, context) => ({ namespaces: await service.list(context) }),
    create: async ({ namespace }, context) => ({ namespace: await service.create(context, requiredNamespace(namespace)) }),
    update: async ({ namespace, updateMask }, context) => ({
      namespace: await service.update(context, requiredNamespace(namespace), updateMask ?? []),
    }),
    delete: async ({ name }, context) => {
      await service.delete(context, name);
      return {};
    },
  };
}
