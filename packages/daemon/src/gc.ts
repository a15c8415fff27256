import { type ContentStore, isKind } from "@berth/api";
import type { Database } from "lmdb";
import type { BlobRecord, IngestRecord } from "./content.js";
import { backendRef } from "./content.js";
import type { ImageRecord } from "./images.js";
import { type Collector, type LeaseRecord, leaseExpired } from "./leases.js";
import type { Logger } from "./log.js";
import type { MetadataStore } from "./metadata.js";
import type { Mutex } from "./mutex.js";

const gcRoot = "containerd.io/gc.root";
const gcFlat = "containerd.io/gc.flat";
const contentRef = /^containerd\.io\/gc\.ref\.content(?:[./].*)?$/;

/** Digests that `labels` keep alive through `containerd.io/gc.ref.content*`. */
function contentRefs(labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels)
    .filter(([key]) => contentRef.test(key))
    .map(([, digest]) => digest);
}

export interface GcTables {
  readonly images: Database<ImageRecord, string>;
  readonly blobs: Database<BlobRecord, string>;
  readonly ingests: Database<IngestRecord, string>;
  readonly leases: Database<LeaseRecord, string>;
}

export interface GcResult {
  readonly blobsRemoved: number;
  readonly recordsRemoved: number;
  readonly leasesExpired: number;
}

/**
 * Mark and sweep, as containerd's GC: roots are images, unexpired leases and objects labelled
 * `containerd.io/gc.root`; references follow `containerd.io/gc.ref.content*` labels. Metadata is
 * swept in one write transaction; then blobs that no namespace references are deleted from the
 * shared store, under `guard` so that no namespace can link a blob while it is being deleted.
 */
export class GarbageCollector implements Collector {
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: MetadataStore,
    private readonly tables: () => GcTables,
    private readonly backend: ContentStore,
    private readonly guard: Mutex,
    private readonly logger: Logger,
    private readonly delayMs = 100,
  ) {}

  /** Collects soon; many calls in a burst make one collection. */
  schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.collect().catch((error: unknown) => this.logger.error({ err: error }, "garbage collection failed"));
    }, this.delayMs);
    this.#timer.unref();
  }

  /** Collects now; resolves when a collection that started after this call has finished. */
  collect(): Promise<void> {
    const run = this.#chain.catch(() => undefined).then(() => this.#run());
    this.#chain = run;
    return run.then(() => undefined);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  async #run(): Promise<GcResult> {
    const started = process.hrtime.bigint();
    return this.guard.run(async () => {
      const { recordsRemoved, leasesExpired, abandonedIngests } = await this.store.transaction(() => this.#sweepMetadata());
      for (const ref of abandonedIngests) {
        await this.backend.abort({}, ref).catch((error: unknown) => {
          if (!isKind(error, "NotFound")) throw error;
        });
      }
      const referenced = new Set<string>();
      for (const { id } of this.store.everywhere(this.tables().blobs)) referenced.add(id);
      let blobsRemoved = 0;
      for await (const info of this.backend.list({}, [])) {
        if (referenced.has(info.digest)) continue;
        await this.backend.delete({}, info.digest).catch((error: unknown) => {
          if (!isKind(error, "NotFound")) throw error;
        });
        blobsRemoved++;
      }
      const result = { blobsRemoved, recordsRemoved, leasesExpired };
      this.logger.debug({ ...result, seconds: Number(process.hrtime.bigint() - started) / 1e9 }, "garbage collected");
      return result;
    });
  }

  /** Runs inside one write transaction. */
  #sweepMetadata(): { recordsRemoved: number; leasesExpired: number; abandonedIngests: string[] } {
    const { images, blobs, ingests, leases } = this.tables();
    const now = Date.now();
    const marked = new Set<string>();
    const keptIngests = new Set<string>();
    const queue: string[] = [];
    const mark = (namespace: string, digest: string, follow = true) => {
      const key = `${namespace}/${digest}`;
      if (marked.has(key)) return;
      marked.add(key);
      if (follow) queue.push(key);
    };

    let leasesExpired = 0;
    for (const { namespace, id, value } of [...this.store.everywhere(leases)]) {
      if (leaseExpired(value.labels, now)) {
        leases.remove(`${namespace}/${id}`);
        leasesExpired++;
        continue;
      }
      const flat = value.labels[gcFlat] !== undefined;
      for (const resource of value.resources) {
        if (resource.type === "content") mark(namespace, resource.id, !flat);
        else if (resource.type === "ingests") keptIngests.add(`${namespace}/${resource.id}`);
      }
    }
    for (const { namespace, value } of this.store.everywhere(images)) {
      mark(namespace, value.target.digest);
      for (const digest of contentRefs(value.labels)) mark(namespace, digest);
    }
    for (const { namespace, id, value } of this.store.everywhere(blobs)) {
      if (value.labels[gcRoot] !== undefined) mark(namespace, id);
    }
    while (queue.length > 0) {
      const key = queue.pop()!;
      const record = blobs.get(key);
      if (record === undefined) continue;
      const namespace = key.slice(0, key.indexOf("/"));
      for (const digest of contentRefs(record.labels)) mark(namespace, digest);
    }

    let recordsRemoved = 0;
    for (const { namespace, id } of [...this.store.everywhere(blobs)]) {
      if (marked.has(`${namespace}/${id}`)) continue;
      blobs.remove(`${namespace}/${id}`);
      recordsRemoved++;
    }
    const abandonedIngests: string[] = [];
    for (const { namespace, id, value } of [...this.store.everywhere(ingests)]) {
      // Kept while a live lease holds it or its day has not passed; a lease's ingest goes with the lease.
      if (keptIngests.has(`${namespace}/${id}`) || (value.expiresAt !== 0 && value.expiresAt > now)) continue;
      ingests.remove(`${namespace}/${id}`);
      abandonedIngests.push(backendRef(namespace, id));
    }
    return { recordsRemoved, leasesExpired, abandonedIngests };
  }
}
