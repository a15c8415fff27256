import { invalidArgument } from "@berth/api";
import { namespacesV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";
import type { Namespace, NamespaceService } from "../namespaces.js";

function requiredNamespace(namespace: namespacesV1.Namespace | undefined): Namespace {
  if (namespace === undefined) throw invalidArgument("namespace: must be set");
  return namespace;
}

export function namespacesHandlers(service: NamespaceService): ServiceHandlers<typeof namespacesV1.NamespacesDefinition> {
  return {
    get: async ({ name }) => ({ namespace: await service.get(name) }),
    list: async () => ({ namespaces: await service.list() }),
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
