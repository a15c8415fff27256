import type { CallContext, Namespace, NamespaceStore } from "@berth/api";
import * as namespacesV1 from "@berth/api/gen/containerd/services/namespaces/v1/namespaces";
import type { ServiceClient } from "@berth/api/services";

/** Namespaces through berthd's (or containerd's) Namespaces service. */
export class NamespacesProxy implements NamespaceStore {
  constructor(private readonly service: ServiceClient<typeof namespacesV1.NamespacesDefinition>) {}

  async get(context: CallContext, name: string): Promise<Namespace> {
    const { namespace } = await this.service.get({ name }, context);
    return { name, labels: namespace?.labels ?? {} };
  }

  async list(context: CallContext): Promise<Namespace[]> {
    const { namespaces } = await this.service.list({ filter: "" }, context);
    return namespaces;
  }

  async create(context: CallContext, namespace: Namespace): Promise<Namespace> {
    const response = await this.service.create({ namespace: { name: namespace.name, labels: { ...namespace.labels } } }, context);
    return response.namespace ?? namespace;
  }

  async update(context: CallContext, namespace: Namespace, paths: readonly string[]): Promise<Namespace> {
    const response = await this.service.update(
      { namespace: { name: namespace.name, labels: { ...namespace.labels } }, updateMask: paths.length > 0 ? [...paths] : undefined },
      context,
    );
    return response.namespace ?? namespace;
  }

  async delete(context: CallContext, name: string): Promise<void> {
    await this.service.delete({ name }, context);
  }
}
