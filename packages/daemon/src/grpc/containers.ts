import { type Any, type Container, type ContainerStore, type NewContainer, invalidArgument } from "@berth/api";
import { containersV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";

function containerMessage(container: Container): containersV1.Container {
  return {
    id: container.id,
    labels: { ...container.labels },
    image: container.image,
    runtime: { name: container.runtime.name, options: container.runtime.options },
    spec: container.spec,
    snapshotter: container.snapshotter,
    snapshotKey: container.snapshotKey,
    createdAt: container.createdAt,
    updatedAt: container.updatedAt,
    extensions: { ...container.extensions },
    sandbox: container.sandbox,
  };
}

function newContainer(container: containersV1.Container | undefined): NewContainer {
  if (container === undefined) throw invalidArgument("container: must be set");
  // A map entry without a value carries nothing to keep.
  const extensions = Object.fromEntries(Object.entries(container.extensions).filter((entry): entry is [string, Any] => entry[1] !== undefined));
  return {
    id: container.id,
    labels: container.labels,
    image: container.image,
    runtime: { name: container.runtime?.name ?? "", options: container.runtime?.options },
    spec: container.spec,
    snapshotter: container.snapshotter,
    snapshotKey: container.snapshotKey,
    extensions,
    sandbox: container.sandbox,
  };
}

export function containersHandlers(containers: ContainerStore): ServiceHandlers<typeof containersV1.ContainersDefinition> {
  return {
    get: async ({ id }, context) => ({ container: containerMessage(await containers.get(context, id)) }),
    list: async ({ filters }, context) => ({ containers: (await containers.list(context, filters)).map(containerMessage) }),
    listStream: async function* ({ filters }, context) {
      for (const container of await containers.list(context, filters)) yield { container: containerMessage(container) };
    },
    create: async ({ container }, context) => ({ container: containerMessage(await containers.create(context, newContainer(container))) }),
    update: async ({ container, updateMask }, context) => ({
      container: containerMessage(await containers.update(context, newContainer(container), updateMask ?? [])),
    }),
    delete: async ({ id }, context) => {
      await containers.delete(context, id);
      return {};
    },
  };
}
