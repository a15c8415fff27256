import { type CallContext, type Container, type ContainerStore, type NewContainer, goZeroTime, isKind } from "@berth/api";
import * as containersV1 from "@berth/api/gen/containerd/services/containers/v1/containers";
import type { ServiceClient } from "@berth/api/services";

function containerOf(container: containersV1.Container | undefined): Container {
  const extensions = Object.fromEntries(
    Object.entries(container?.extensions ?? {}).filter((entry): entry is [string, NonNullable<(typeof entry)[1]>] => entry[1] !== undefined),
  );
  return {
    id: container?.id ?? "",
    labels: container?.labels ?? {},
    image: container?.image ?? "",
    runtime: { name: container?.runtime?.name ?? "", options: container?.runtime?.options },
    spec: container?.spec,
    snapshotter: container?.snapshotter ?? "",
    snapshotKey: container?.snapshotKey ?? "",
    extensions,
    sandbox: container?.sandbox ?? "",
    createdAt: container?.createdAt ?? goZeroTime,
    updatedAt: container?.updatedAt ?? goZeroTime,
  };
}

const message = (container: NewContainer): containersV1.Container => ({
  id: container.id,
  labels: { ...container.labels },
  image: container.image,
  runtime: { name: container.runtime.name, options: container.runtime.options },
  spec: container.spec,
  snapshotter: container.snapshotter,
  snapshotKey: container.snapshotKey,
  createdAt: undefined,
  updatedAt: undefined,
  extensions: { ...container.extensions },
  sandbox: container.sandbox,
});

/** Containers through a daemon's Containers service. */
export class ContainersProxy implements ContainerStore {
  constructor(private readonly service: ServiceClient<typeof containersV1.ContainersDefinition>) {}

  async get(context: CallContext, id: string): Promise<Container> {
    return containerOf((await this.service.get({ id }, context)).container);
  }

  /** Through ListStream, falling back to List on a daemon without it, as containerd's client does. */
  async list(context: CallContext, filters: readonly string[]): Promise<Container[]> {
    try {
      const containers: Container[] = [];
      for await (const { container } of this.service.listStream({ filters: [...filters] }, context)) containers.push(containerOf(container));
      return containers;
    } catch (error) {
      if (!isKind(error, "NotImplemented")) throw error;
      return (await this.service.list({ filters: [...filters] }, context)).containers.map(containerOf);
    }
  }

  async create(context: CallContext, container: NewContainer): Promise<Container> {
    return containerOf((await this.service.create({ container: message(container) }, context)).container);
  }

  async update(context: CallContext, container: NewContainer, fieldpaths: readonly string[]): Promise<Container> {
    const request = { container: message(container), updateMask: fieldpaths.length > 0 ? [...fieldpaths] : undefined };
    return containerOf((await this.service.update(request, context)).container);
  }

  async delete(context: CallContext, id: string): Promise<void> {
    await this.service.delete({ id }, context);
  }
}
