import {
  type CallContext,
  type ContentInfo,
  type ContentStore,
  type ContentWriter,
  type IngestStatus,
  type Publisher,
  type Timestamp,
  type TypeRegistry,
  type WriterOptions,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  isKind,
  notFound,
  nowTimestamp,
  requireNamespace,
  validateDigest,
  validateLabels,
} from "@berth/api";
import { adaptObject, parseFilters } from "@berth/filters";
import type { ScopedTable } from "./scoped-table.js";
import { applyMapPaths, checkPaths, withoutEmpty } from "./labels.js";
import type { Collector, LeaseService } from "./leases.js";
import type { MetadataStore } from "./metadata.js";
import type { Mutex } from "./mutex.js";

export interface BlobRecord {
  size: number;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  labels: Record<string, string>;
}

export interface IngestRecord {
  /** Milliseconds since the epoch after which GC may drop the ingest; 0 while a lease holds it. */
  expiresAt: number;
}

/** Ingests not under a lease are kept this long, as containerd does. */
const ingestLifetimeMs = 24 * 60 * 60 * 1000;

/**
 * The daemon's content store: blobs stored once in a backend store shared by all namespaces, and
 * per namespace which blobs it sees, with their labels. Writing a blob another namespace already
 * has moves no bytes: the writer reports the whole blob as written and its commit only records it.
 */
export class NamespacedContentStore implements ContentStore {
  readonly blobs: ScopedTable<BlobRecord>;
  readonly ingests: ScopedTable<IngestRecord>;

  constructor(
    readonly backend: ContentStore,
    private readonly store: MetadataStore,
    private readonly leases: LeaseService,
    private readonly publisher: Publisher,
    private readonly types: TypeRegistry,
    private readonly collector: Collector,
    /** Held by garbage collection while it deletes blobs; commits and links take it too. */
    readonly guard: Mutex,
  ) {
    this.blobs = store.scoped<BlobRecord>("content", "blobs");
    this.ingests = store.scoped<IngestRecord>("ingests");
  }

  #record(namespace: string, digest: string): BlobRecord {
    validateDigest(digest);
    const record = this.blobs.get(namespace, digest);
    if (record === undefined) throw notFound(`content digest ${digest}`);
    return record;
  }

  async info(context: CallContext, digest: string): Promise<ContentInfo> {
    const namespace = requireNamespace(context);
    return { digest, ...this.#record(namespace, digest) };
  }

  async update(context: CallContext, info: Pick<ContentInfo, "digest" | "labels">, fieldpaths: readonly string[]): Promise<ContentInfo> {
    const namespace = requireNamespace(context);
    validateDigest(info.digest, "info.digest");
    validateLabels(info.labels, "info.labels");
    checkPaths(fieldpaths, ["labels"], ["labels"], "content");
    const updated = await this.store.transaction(() => {
      const record = this.#record(namespace, info.digest);
      const labels = fieldpaths.length === 0 ? withoutEmpty(info.labels) : applyMapPaths(record.labels, info.labels, fieldpaths, "labels")!;
      const next = { ...record, labels, updatedAt: nowTimestamp() };
      this.blobs.put(namespace, info.digest, next);
      return next;
    });
    return { digest: info.digest, ...updated };
  }

  async *list(context: CallContext, filters: readonly string[]): AsyncIterable<ContentInfo> {
    const namespace = requireNamespace(context);
    const filter = parseFilters(filters);
    for (const { id, value } of this.blobs.inNamespace(namespace)) {
      if (filter.match(adaptObject({ digest: id, labels: value.labels }, ["labels"]))) yield { digest: id, ...value };
    }
  }

  async delete(context: CallContext, digest: string): Promise<void> {
    const namespace = requireNamespace(context);
    await this.store.transaction(() => {
      this.#record(namespace, digest);
      this.blobs.remove(namespace, digest);
    });
    await this.publisher.publish(context, "/content/delete", this.types.pack("containerd.events.ContentDelete", { digest }));
    this.collector.schedule();
  }

  read(context: CallContext, digest: string, offset?: number, length?: number): AsyncIterable<Uint8Array> {
    const namespace = requireNamespace(context);
    this.#record(namespace, digest);
    return this.backend.read({}, digest, offset, length);
  }

  async writer(context: CallContext, options: WriterOptions): Promise<ContentWriter> {
    const namespace = requireNamespace(context);
    if (options.ref === "") throw invalidArgument("ref: must not be empty");
    const expected = options.expected ?? "";
    if (expected !== "") {
      validateDigest(expected, "expected");
      if (await this.#leaseIfPresent(namespace, expected, context.lease)) throw alreadyExists(`content ${expected}`);
      const shared = await this.#backendInfo(expected);
      if (shared !== undefined && (!options.total || options.total === shared.size)) {
        return new NamespacedWriter(this, namespace, options, context.lease, undefined, shared);
      }
    }
    let backend: ContentWriter;
    const resumed = this.ingests.has(namespace, options.ref);
    try {
      backend = await this.backend.writer({}, { ...options, ref: backendRef(namespace, options.ref) });
    } catch (error) {
      const shared = isKind(error, "AlreadyExists") ? await this.#backendInfo(expected) : undefined;
      if (shared === undefined) throw error;
      return new NamespacedWriter(this, namespace, options, context.lease, undefined, shared);
    }
    await this.store
      .transaction(() => {
        this.store.ensureNamespace(namespace);
        if (context.lease) this.leases.attach(namespace, context.lease, { type: "ingests", id: options.ref });
        this.ingests.put(namespace, options.ref, { expiresAt: context.lease ? 0 : Date.now() + ingestLifetimeMs });
      })
      .catch(async (error: unknown) => {
        await backend.close();
        // an ingest no record names would never be collected
        if (!resumed) await this.backend.abort({}, backendRef(namespace, options.ref)).catch(() => undefined);
        throw error;
      });
    return new NamespacedWriter(this, namespace, options, context.lease, backend, undefined);
  }

  /**
   * Whether the namespace has the blob; if so it is added to the caller's lease first, as
   * containerd does, so that a client told AlreadyExists can count on its lease to keep the blob.
   */
  async #leaseIfPresent(namespace: string, digest: string, lease: string | undefined): Promise<boolean> {
    // Read first: a write transaction costs a flush to disk even when it writes nothing.
    if (this.blobs.get(namespace, digest) === undefined) return false;
    return this.store.transaction(() => {
      if (this.blobs.get(namespace, digest) === undefined) return false;
      if (lease) this.leases.attach(namespace, lease, { type: "content", id: digest });
      return true;
    });
  }

  async #backendInfo(digest: string): Promise<ContentInfo | undefined> {
    if (digest === "") return undefined;
    try {
      return await this.backend.info({}, digest);
    } catch (error) {
      if (isKind(error, "NotFound")) return undefined;
      throw error;
    }
  }

  /** Commits an ingest's bytes to the shared store and records the blob in the namespace. */
  commitAndLink(
    namespace: string,
    backend: ContentWriter,
    size: number,
    expected: string,
    labels: Readonly<Record<string, string>>,
    ref: string,
    lease: string | undefined,
  ): Promise<void> {
    return this.guard.run(async () => {
      const { offset } = await backend.status();
      const digest = await backend.digest();
      try {
        await backend.commit(size, expected);
      } catch (error) {
        if (!isKind(error, "AlreadyExists")) throw error;
      }
      await this.#link(namespace, digest, offset, labels, ref, lease);
    });
  }

  /** Records a blob the shared store already holds (written in another namespace): no bytes move. */
  linkShared(namespace: string, shared: ContentInfo, labels: Readonly<Record<string, string>>, ref: string, lease: string | undefined): Promise<void> {
    return this.guard.run(async () => {
      if ((await this.#backendInfo(shared.digest)) === undefined) throw failedPrecondition(`content ${shared.digest} was removed meanwhile; write it again`);
      await this.#link(namespace, shared.digest, shared.size, labels, ref, lease);
    });
  }

  async #link(
    namespace: string,
    digest: string,
    size: number,
    labels: Readonly<Record<string, string>>,
    ref: string,
    lease: string | undefined,
  ): Promise<void> {
    const linked = await this.store.transaction(() => {
      this.ingests.remove(namespace, ref);
      // leased even when the namespace had the blob already (committed meanwhile by another writer)
      if (lease) this.leases.attach(namespace, lease, { type: "content", id: digest });
      if (this.blobs.get(namespace, digest) !== undefined) return false;
      this.store.ensureNamespace(namespace);
      const now = nowTimestamp();
      this.blobs.put(namespace, digest, { size, createdAt: now, updatedAt: now, labels: withoutEmpty(labels) });
      return true;
    });
    if (!linked) throw alreadyExists(`content ${digest}`);
  }

  async status(context: CallContext, ref: string): Promise<IngestStatus> {
    const namespace = requireNamespace(context);
    if (this.ingests.get(namespace, ref) === undefined) throw notFound(`ingest ${JSON.stringify(ref)}`);
    return { ...(await this.backend.status({}, backendRef(namespace, ref))), ref };
  }

  async listStatuses(context: CallContext, filters: readonly string[]): Promise<IngestStatus[]> {
    const namespace = requireNamespace(context);
    const filter = parseFilters(filters);
    const statuses: IngestStatus[] = [];
    for (const { id } of this.ingests.inNamespace(namespace)) {
      if (!filter.match(adaptObject({ ref: id }))) continue;
      try {
        statuses.push({ ...(await this.backend.status({}, backendRef(namespace, id))), ref: id });
      } catch (error) {
        if (!isKind(error, "NotFound")) throw error;
      }
    }
    return statuses;
  }

  async abort(context: CallContext, ref: string): Promise<void> {
    const namespace = requireNamespace(context);
    if (this.ingests.get(namespace, ref) === undefined) throw notFound(`ingest ${JSON.stringify(ref)}`);
    await this.backend.abort({}, backendRef(namespace, ref)).catch((error: unknown) => {
      if (!isKind(error, "NotFound")) throw error;
    });
    await this.store.transaction(() => this.ingests.remove(namespace, ref));
  }

  /** Opens the backend writer of an ingest whose blob was shared, once the client sends bytes after all. */
  async openBackend(namespace: string, options: WriterOptions): Promise<ContentWriter> {
    // Without the expected digest, which the backend already has: the bytes are verified at commit.
    const backend = await this.backend.writer({}, { ref: backendRef(namespace, options.ref), total: options.total ?? 0 });
    await this.store.transaction(() => this.ingests.put(namespace, options.ref, { expiresAt: Date.now() + ingestLifetimeMs }));
    return backend;
  }
}

/** Namespaces keep their own refs apart in the shared backend. */
export const backendRef = (namespace: string, ref: string) => `${namespace}/${ref}`;

class NamespacedWriter implements ContentWriter {
  readonly ref: string;

  constructor(
    private readonly owner: NamespacedContentStore,
    private readonly namespace: string,
    private readonly options: WriterOptions,
    private readonly lease: string | undefined,
    private backend: ContentWriter | undefined,
    private readonly shared: ContentInfo | undefined,
  ) {
    this.ref = options.ref;
  }

  async #real(): Promise<ContentWriter> {
    this.backend ??= await this.owner.openBackend(this.namespace, this.options);
    return this.backend;
  }

  async status(): Promise<IngestStatus> {
    if (this.backend !== undefined || this.shared === undefined) return { ...(await (await this.#real()).status()), ref: this.ref };
    const now = nowTimestamp();
    return { ref: this.ref, offset: this.shared.size, total: this.shared.size, expected: this.shared.digest, startedAt: now, updatedAt: now };
  }

  async digest(): Promise<string> {
    if (this.backend === undefined && this.shared !== undefined) return this.shared.digest;
    return (await this.#real()).digest();
  }

  async write(data: Uint8Array, offset?: number): Promise<void> {
    await (await this.#real()).write(data, offset);
  }

  async truncate(size: number): Promise<void> {
    await (await this.#real()).truncate(size);
  }

  async commit(size: number, expected: string, labels: Readonly<Record<string, string>> = {}): Promise<void> {
    validateLabels(labels, "labels");
    const shared = this.backend === undefined ? this.shared : undefined;
    // A commit that does not match the shared blob is verified like any other, against real bytes.
    if (shared !== undefined && (size <= 0 || size === shared.size) && (expected === "" || expected === shared.digest)) {
      return this.owner.linkShared(this.namespace, shared, labels, this.ref, this.lease);
    }
    return this.owner.commitAndLink(this.namespace, await this.#real(), size, expected, labels, this.ref, this.lease);
  }

  async close(): Promise<void> {
    await this.backend?.close();
  }
}
