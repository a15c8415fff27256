import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Database, type RootDatabase, open } from "lmdb";
import { ScopedTable } from "./scoped-table.js";

export interface NamespaceRecord {
  labels: Record<string, string>;
}

/** Namespaces whose decoded records are kept; far more than a host has. */
const maxDecodedNamespaces = 1024;

/**
 * Berth's metadata in one lmdb environment. Namespaces have their own table; every other kind of
 * object lives in a table of its kind keyed by namespace and id (see ScopedTable).
 */
export class MetadataStore {
  readonly #root: RootDatabase;
  readonly namespaces: Database<NamespaceRecord, string>;
  readonly #scoped = new Map<string, { table: ScopedTable<unknown>; describe: string | undefined }>();
  /** Namespace records by name with the bytes they were decoded from (see `namespace`). */
  readonly #decodedNamespaces = new Map<string, { bytes: Buffer; record: NamespaceRecord }>();

  private constructor(root: RootDatabase) {
    this.#root = root;
    this.namespaces = root.openDB<NamespaceRecord, string>({ name: "namespaces" });
  }

  static open(directory: string): MetadataStore {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    return new MetadataStore(open({ path: join(directory, "meta.lmdb"), maxDbs: 64, compression: false }));
  }

  /**
   * The table of a namespaced kind. `blocksDelete` is how a namespace that still holds such
   * objects names them when it refuses deletion (containerd's words: "images", "blobs",
   * "containers", `snapshots on "overlayfs" snapshotter`); kinds without it (leases, ingests)
   * do not keep a namespace alive.
   */
  scoped<V>(kind: string, blocksDelete?: string): ScopedTable<V> {
    let entry = this.#scoped.get(kind);
    if (entry === undefined) {
      entry = { table: new ScopedTable(this.#root.openDB<unknown, string>({ name: `ns:${kind}` })), describe: blocksDelete };
      this.#scoped.set(kind, entry);
    }
    return entry.table as ScopedTable<V>;
  }

  /**
   * A namespace's record, as `namespaces.get` reads it. Decoding its msgpack took half of a
   * Namespaces.Get, so a record is decoded again only when its stored bytes changed; the bytes
   * are read every time, so what a transaction wrote (or rolled back) is always what is seen.
   * The record is shared between callers: read it, never change it.
   */
  namespace(name: string): Readonly<NamespaceRecord> | undefined {
    const bytes = this.namespaces.getBinary(name);
    if (bytes === undefined) {
      this.#decodedNamespaces.delete(name);
      return undefined;
    }
    const decoded = this.#decodedNamespaces.get(name);
    if (decoded !== undefined && decoded.bytes.equals(bytes)) return decoded.record;
    const record = this.namespaces.get(name);
    if (record === undefined) return undefined;
    if (this.#decodedNamespaces.size >= maxDecodedNamespaces) this.#decodedNamespaces.clear();
    this.#decodedNamespaces.set(name, { bytes, record });
    return record;
  }

  /** A table that belongs to no namespace (what namespaces share). */
  shared<V>(name: string): Database<V, string> {
    return this.#root.openDB<V, string>({ name: `shared:${name}` });
  }

  /**
   * Runs `body` in one write transaction; everything it writes commits together or, when it
   * throws, not at all. Synchronous, because lmdb's asynchronous transactions keep the writes of
   * a callback that throws.
   */
  async transaction<T>(body: () => T): Promise<T> {
    return this.#root.transactionSync(body);
  }

  /** Makes sure the namespace exists; call inside a transaction of a namespaced write. */
  ensureNamespace(namespace: string): void {
    if (this.namespaces.get(namespace) === undefined) this.namespaces.put(namespace, { labels: {} });
  }

  /** What the namespace still holds, in containerd's words; empty when it holds nothing. */
  namespaceContents(namespace: string): string[] {
    const contents: string[] = [];
    for (const { table, describe } of this.#scoped.values()) {
      if (describe === undefined) continue;
      if (table.holdsAny(namespace)) contents.push(describe);
    }
    return contents;
  }

  async close(): Promise<void> {
    await this.#root.close();
  }
}
