import {
  type Any,
  type CallContext,
  type Container,
  type ContainerStore,
  type NewContainer,
  type Publisher,
  type TypeRegistry,
  alreadyExists,
  invalidArgument,
  notFound,
  nowTimestamp,
  requireNamespace,
  validateIdentifier,
  validateLabels,
} from "@berth/api";
import { adaptObject, parseFilters } from "@berth/filters";
import type { ScopedTable } from "./scoped-table.js";
import type { Collector } from "./leases.js";
import { withoutEmpty } from "./labels.js";
import type { MetadataStore } from "./metadata.js";

export type ContainerRecord = Omit<Container, "id">;

/** containerd's checks (metadata.validateContainer), each message naming its field. */
function validateContainer(container: NewContainer): void {
  validateIdentifier(container.id, "container.id");
  for (const key of Object.keys(container.extensions)) {
    if (key === "") throw invalidArgument("container.extensions: keys must not be zero-length");
  }
  validateLabels(container.labels, "container.labels");
  if (container.runtime.name === "") throw invalidArgument("container.runtime.name: must be set");
  if (container.spec === undefined) throw invalidArgument("container.spec: must be set");
  if (container.snapshotKey !== "" && container.snapshotter === "") {
    throw invalidArgument("container.snapshotter: must be set if container.snapshot_key is set");
  }
}

/** What a full replace (no update mask) changes, as containerd's. */
const replaceablePaths = ["labels", "spec", "extensions", "image", "snapshotkey"];

const copyAny = (any: Any): Any => ({ typeUrl: any.typeUrl, value: Buffer.from(any.value) });

function recordOf(container: NewContainer): Omit<ContainerRecord, "createdAt" | "updatedAt"> {
  return {
    labels: withoutEmpty(container.labels),
    image: container.image,
    runtime: { name: container.runtime.name, options: container.runtime.options && copyAny(container.runtime.options) },
    spec: container.spec && copyAny(container.spec),
    snapshotter: container.snapshotter,
    snapshotKey: container.snapshotKey,
    extensions: Object.fromEntries(Object.entries(container.extensions).map(([key, any]) => [key, copyAny(any)])),
    sandbox: container.sandbox,
  };
}

/** Applies one update-mask path of `incoming` to `next`, or throws InvalidArgument for a path containerd refuses. */
function applyPath(
  next: { -readonly [K in keyof ContainerRecord]: ContainerRecord[K] },
  incoming: ReturnType<typeof recordOf>,
  path: string,
  id: string,
): void {
  if (path.startsWith("labels.")) {
    const key = path.slice("labels.".length);
    next.labels = withoutEmpty({ ...next.labels, [key]: incoming.labels[key] ?? "" });
    return;
  }
  if (path.startsWith("extensions.")) {
    const key = path.slice("extensions.".length);
    const extensions = { ...next.extensions };
    const value = incoming.extensions[key];
    if (value === undefined) delete extensions[key];
    else extensions[key] = value;
    next.extensions = extensions;
    return;
  }
  switch (path) {
    case "labels":
      next.labels = incoming.labels;
      return;
    case "spec":
      next.spec = incoming.spec;
      return;
    case "extensions":
      next.extensions = incoming.extensions;
      return;
    case "image":
      next.image = incoming.image;
      return;
    case "snapshotkey":
      next.snapshotKey = incoming.snapshotKey;
      return;
    default:
      throw invalidArgument(`update_mask: cannot update ${JSON.stringify(path)} field on ${JSON.stringify(id)}`);
  }
}

/** Containers in the metadata store, per namespace; GC roots for their snapshots and gc.ref labels. */
export class ContainerService implements ContainerStore {
  readonly table: ScopedTable<ContainerRecord>;

  constructor(
    private readonly store: MetadataStore,
    private readonly publisher: Publisher,
    private readonly types: TypeRegistry,
    private readonly collector: Collector,
  ) {
    this.table = store.scoped<ContainerRecord>("containers", "containers");
  }

  /**
   * The stored record, read synchronously (inside or outside a transaction), or undefined. For
   * the daemon's own services, e.g. Tasks, which need a container's spec, runtime and snapshot.
   */
  record(namespace: string, id: string): Container | undefined {
    const record = this.table.get(namespace, id);
    return record === undefined ? undefined : { id, ...record };
  }

  #get(namespace: string, id: string): ContainerRecord {
    const record = this.table.get(namespace, id);
    if (record === undefined) throw notFound(`container ${JSON.stringify(id)} in namespace ${JSON.stringify(namespace)}`);
    return record;
  }

  async get(context: CallContext, id: string): Promise<Container> {
    const namespace = requireNamespace(context);
    return { id, ...this.#get(namespace, id) };
  }

  async list(context: CallContext, filters: readonly string[]): Promise<Container[]> {
    const namespace = requireNamespace(context);
    const filter = parseFilters(filters);
    const containers: Container[] = [];
    for (const { id, value } of this.table.inNamespace(namespace)) {
      const fields = { id, image: value.image, runtime: { name: value.runtime.name }, labels: value.labels };
      if (filter.match(adaptObject(fields, ["labels"]))) containers.push({ id, ...value });
    }
    return containers;
  }

  async create(context: CallContext, container: NewContainer): Promise<Container> {
    const namespace = requireNamespace(context);
    validateContainer(container);
    const now = nowTimestamp();
    const record: ContainerRecord = { ...recordOf(container), createdAt: now, updatedAt: now };
    await this.store.transaction(() => {
      if (this.table.get(namespace, container.id) !== undefined) throw alreadyExists(`container ${JSON.stringify(container.id)}`);
      this.store.ensureNamespace(namespace);
      this.table.put(namespace, container.id, record);
    });
    const event = { id: container.id, image: record.image, runtime: { name: record.runtime.name, options: record.runtime.options } };
    await this.publisher.publish(context, "/containers/create", this.types.pack("containerd.events.ContainerCreate", event));
    return { id: container.id, ...record };
  }

  async update(context: CallContext, container: NewContainer, fieldpaths: readonly string[]): Promise<Container> {
    const namespace = requireNamespace(context);
    if (container.id === "") throw invalidArgument("container.id: must specify a container id");
    const incoming = recordOf(container);
    const updated = await this.store.transaction(() => {
      const current = this.#get(namespace, container.id);
      let paths = fieldpaths;
      if (paths.length === 0) {
        paths = replaceablePaths;
        // Immutable fields must match on a full replace, so that they may become mutable later.
        if (current.snapshotter !== container.snapshotter) throw invalidArgument("container.snapshotter: field is immutable");
        if (current.runtime.name !== container.runtime.name) throw invalidArgument("container.runtime.name: field is immutable");
      }
      const next = { ...current };
      for (const path of paths) applyPath(next, incoming, path, container.id);
      validateContainer({ id: container.id, ...next });
      next.updatedAt = nowTimestamp();
      this.table.put(namespace, container.id, next);
      return next;
    });
    const event = { id: container.id, image: updated.image, labels: updated.labels, snapshotKey: updated.snapshotKey };
    await this.publisher.publish(context, "/containers/update", this.types.pack("containerd.events.ContainerUpdate", event));
    return { id: container.id, ...updated };
  }

  async delete(context: CallContext, id: string): Promise<void> {
    const namespace = requireNamespace(context);
    await this.store.transaction(() => {
      this.#get(namespace, id);
      this.table.remove(namespace, id);
    });
    await this.publisher.publish(context, "/containers/delete", this.types.pack("containerd.events.ContainerDelete", { id }));
    this.collector.schedule();
  }
}
