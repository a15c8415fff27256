import {
  type CallContext,
  type Namespace,
  type NamespaceStore,
  type Publisher,
  type TypeRegistry,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  isValidIdentifier,
  notFound,
  requireNamespace,
  validateIdentifier,
  validateLabels,
} from "@berth/api";
import type { MetadataStore } from "./metadata.js";

function withoutEmpty(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([, value]) => value !== ""));
}

/**
 * Namespaces over the metadata store. Requests are checked in full before anything is written,
 * and each change is one transaction.
 */
export class NamespaceService implements NamespaceStore {
  constructor(
    private readonly store: MetadataStore,
    private readonly publisher: Publisher,
    private readonly types: TypeRegistry,
  ) {}

  /** As containerd: any name answers, with no labels when there is no such namespace (and one that is no identifier never is). */
  async get(_context: CallContext, name: string): Promise<Namespace> {
    const record = isValidIdentifier(name) ? this.store.namespace(name) : undefined;
    return { name, labels: { ...record?.labels } };
  }

  async list(_context: CallContext): Promise<Namespace[]> {
    return [...this.store.namespaces.getRange()].map(({ key, value }) => ({ name: key, labels: value.labels }));
  }

  async create(context: CallContext, namespace: Namespace): Promise<Namespace> {
    validateIdentifier(namespace.name, "namespace.name");
    validateLabels(namespace.labels, "namespace.labels");
    requireNamespace(context);
    const labels = withoutEmpty(namespace.labels);
    await this.store.transaction(() => {
      if (this.store.namespaces.get(namespace.name) !== undefined) throw alreadyExists(`namespace ${JSON.stringify(namespace.name)}`);
      this.store.namespaces.put(namespace.name, { labels });
    });
    await this.publisher.publish(context, "/namespaces/create", this.types.pack("containerd.events.NamespaceCreate", { name: namespace.name, labels }));
    return { name: namespace.name, labels };
  }

  async update(context: CallContext, namespace: Namespace, paths: readonly string[]): Promise<Namespace> {
    validateIdentifier(namespace.name, "namespace.name");
    validateLabels(namespace.labels, "namespace.labels");
    for (const path of paths) {
      if (!path.startsWith("labels.") || path.length === "labels.".length) {
        throw invalidArgument(`update_mask: cannot update ${JSON.stringify(path)} field on namespace ${JSON.stringify(namespace.name)}`);
      }
    }
    requireNamespace(context);
    const labels = await this.store.transaction(() => {
      const current = paths.length === 0 ? {} : { ...(this.store.namespaces.get(namespace.name)?.labels ?? {}) };
      if (paths.length === 0) Object.assign(current, namespace.labels);
      for (const path of paths) {
        const key = path.slice("labels.".length);
        current[key] = namespace.labels[key] ?? "";
      }
      const next = withoutEmpty(current);
      this.store.namespaces.put(namespace.name, { labels: next });
      return next;
    });
    await this.publisher.publish(
      context,
      "/namespaces/update",
      this.types.pack("containerd.events.NamespaceUpdate", { name: namespace.name, labels: namespace.labels }),
    );
    return { name: namespace.name, labels };
  }

  async delete(context: CallContext, name: string): Promise<void> {
    validateIdentifier(name, "name");
    await this.store.transaction(() => {
      if (this.store.namespaces.get(name) === undefined) throw notFound(`namespace ${JSON.stringify(name)}`);
      const contents = this.store.namespaceContents(name);
      if (contents.length > 0) {
        throw failedPrecondition(`namespace ${JSON.stringify(name)} must be empty, but it still has ${contents.join(", ")}`);
      }
      this.store.namespaces.remove(name);
    });
    await this.publisher.publish({ ...context, namespace: name }, "/namespaces/delete", this.types.pack("containerd.events.NamespaceDelete", { name }));
  }
}
