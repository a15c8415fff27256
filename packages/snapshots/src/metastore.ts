import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import {
  type SnapshotInfo,
  type SnapshotKind,
  type SnapshotUsage,
  type Timestamp,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  nowTimestamp,
  validateLabels,
} from "@berth/api";
import { adaptObject, parseFilters } from "@berth/filters";
import { type Database, type RootDatabase, open } from "lmdb";

/** What a snapshotter needs to mount a snapshot: its storage id and its parents' ids, nearest first. */
export interface StoredSnapshot {
  readonly id: number;
  readonly kind: SnapshotKind;
  readonly parentIds: readonly number[];
}

export interface StoredInfo {
  readonly id: number;
  readonly info: SnapshotInfo;
  /** As recorded: measured at commit for committed snapshots, zero for the others. */
  readonly usage: SnapshotUsage;
}

interface SnapshotRecord {
  readonly id: number;
  readonly kind: SnapshotKind;
  readonly parent: string;
  /** Entries rather than an object: msgpack would rename a "__proto__" key. */
  readonly labels: readonly (readonly [string, string])[];
  readonly createdAt: Timestamp;
  readonly updatedAt: Timestamp;
  readonly size: number;
  readonly inodes: number;
}

/** Read access, inside `Metastore.view` or `Metastore.update`. */
export interface MetastoreReader {
  /** An active snapshot or view by key. NotFound if unknown; FailedPrecondition if committed. */
  getSnapshot(key: string): StoredSnapshot;
  /** Any snapshot by key or name. NotFound if unknown. */
  getInfo(key: string): StoredInfo;
  /** Every snapshot that matches any of `filters` (containerd's: name, parent, kind, labels.<k>). */
  walk(filters: readonly string[]): SnapshotInfo[];
  /** Every storage id in use, in order, with its snapshot's key: what cleanup must keep. */
  ids(): Map<number, string>;
}

/** Write access, inside `Metastore.update`. Each method throws the contract's error kinds. */
export interface MetastoreWriter extends MetastoreReader {
  /** AlreadyExists if `key` is taken; NotFound for an unknown parent; InvalidArgument for one not committed. */
  createSnapshot(kind: "active" | "view", key: string, parent: string, labels?: Readonly<Record<string, string>>): StoredSnapshot;
  /** Turns active `key` into committed `name`, keeping its id; labels are replaced by `labels`. Returns the id. */
  commitActive(key: string, name: string, usage: SnapshotUsage, labels?: Readonly<Record<string, string>>): number;
  /** FailedPrecondition while it has children. */
  remove(key: string): { readonly id: number; readonly kind: SnapshotKind };
  /** Fieldpaths `labels` and `labels.<key>` (none: replace all labels); others are InvalidArgument. */
  updateInfo(info: Pick<SnapshotInfo, "name" | "labels">, fieldpaths: readonly string[]): SnapshotInfo;
}

// lmdb's limit is 1978 bytes; keep room for the encoding.
const maxKeyBytes = 1900;

/**
 * The snapshot records a snapshotter keeps, in an lmdb file of its own (containerd's
 * snapshots/storage on bolt): each snapshot by key, with a numeric id that names its storage
 * (ids count up and are never reused), its kind, parent, labels, times and, once committed, usage.
 *
 * Contract: `update(fn)` runs `fn` in one synchronous write transaction. If `fn` throws, nothing
 * it wrote is kept, so a snapshotter makes the storage for a new id *inside* `fn` and lets a
 * failure there undo the record; storage made for an id whose transaction then failed is an
 * orphan that `ids()` does not list, for cleanup to remove. `fn` must not be async.
 */
export class Metastore {
  readonly #root: RootDatabase;
  readonly #snapshots: Database<SnapshotRecord, string>;
  readonly #children: Database<true, [number, number]>;
  readonly #meta: Database<number, string>;
  /**
   * The parent ids (nearest first) of committed snapshots by id, as read: a committed snapshot's
   * chain never changes while it exists, and an id is forgotten when its record is removed.
   * Spares `createSnapshot` a walk of the whole chain on every prepare of a deep stack.
   */
  readonly #chains = new Map<number, readonly number[]>();

  private constructor(root: RootDatabase) {
    this.#root = root;
    this.#snapshots = root.openDB<SnapshotRecord, string>({ name: "snapshots" });
    this.#children = root.openDB<true, [number, number]>({ name: "children" });
    this.#meta = root.openDB<number, string>({ name: "meta" });
  }

  /** Opens (or creates) the store in the file `path`, e.g. `<root>/metadata.db`. */
  static open(path: string): Metastore {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    return new Metastore(open({ path, maxDbs: 8, compression: false }));
  }

  update<T>(fn: (tx: MetastoreWriter) => T): T {
    return this.#root.transactionSync(() => {
      const result = fn(this.#writer);
      if (typeof (result as { then?: unknown } | null)?.then === "function") {
        throw new TypeError("Metastore.update: the transaction function must be synchronous");
      }
      return result;
    });
  }

  view<T>(fn: (tx: MetastoreReader) => T): T {
    return fn(this.#writer);
  }

  async close(): Promise<void> {
    await this.#root.close();
  }

  /** The id of active snapshot `key`: NotFound when unknown, FailedPrecondition when not active. */
  activeId(key: string): number {
    const { id, info } = this.view((tx) => tx.getInfo(key));
    if (info.kind !== "active") throw failedPrecondition(`snapshot ${JSON.stringify(key)} is not active`);
    return id;
  }

  readonly #writer: MetastoreWriter = {
    getSnapshot: (key) => {
      const record = this.#get(key);
      if (record.kind === "committed") throw failedPrecondition(`requested snapshot ${JSON.stringify(key)} not active or view`);
      return { id: record.id, kind: record.kind, parentIds: this.#parentIds(record) };
    },
    getInfo: (key) => {
      const record = this.#get(key);
      return { id: record.id, info: toInfo(key, record), usage: { size: record.size, inodes: record.inodes } };
    },
    walk: (filters) => {
      const filter = parseFilters(filters);
      const found: SnapshotInfo[] = [];
      for (const { key, value } of this.#snapshots.getRange()) {
        const info = toInfo(key, value);
        if (filter.match(adaptObject(info, ["labels"]))) found.push(info);
      }
      return found;
    },
    ids: () => {
      const ids: [number, string][] = [];
      for (const { key, value } of this.#snapshots.getRange()) ids.push([value.id, key]);
      return new Map(ids.sort(([a], [b]) => a - b));
    },
    createSnapshot: (kind, key, parent, labels = {}) => {
      checkKey(key);
      const stored = withoutEmpty(labels);
      validateLabels(stored);
      if (this.#snapshots.get(key) !== undefined) throw alreadyExists(`snapshot ${JSON.stringify(key)}`);
      let parentIds: number[] = [];
      let parentId: number | undefined;
      if (parent !== "") {
        const parentRecord = this.#snapshots.get(parent);
        if (parentRecord === undefined) throw notFound(`parent snapshot ${JSON.stringify(parent)} does not exist`);
        if (parentRecord.kind !== "committed") throw invalidArgument(`parent ${JSON.stringify(parent)} is not committed snapshot`);
        parentId = parentRecord.id;
        parentIds = [parentRecord.id, ...this.#committedChain(parentRecord)];
      }
      const id = (this.#meta.get("lastId") ?? 0) + 1;
      this.#meta.putSync("lastId", id);
      const now = nowTimestamp();
      this.#snapshots.putSync(key, { id, kind, parent, labels: Object.entries(stored), createdAt: now, updatedAt: now, size: 0, inodes: 0 });
      if (parentId !== undefined) this.#children.putSync([parentId, id], true);
      return { id, kind, parentIds };
    },
    commitActive: (key, name, usage, labels = {}) => {
      checkKey(name);
      const stored = withoutEmpty(labels);
      validateLabels(stored);
      const record = this.#get(key);
      if (record.kind !== "active") throw failedPrecondition(`snapshot ${JSON.stringify(key)} is not active`);
      if (this.#snapshots.get(name) !== undefined) throw alreadyExists(`snapshot ${JSON.stringify(name)}`);
      const now = nowTimestamp();
      this.#snapshots.removeSync(key);
      this.#snapshots.putSync(name, {
        ...record,
        kind: "committed",
        labels: Object.entries(stored),
        createdAt: now,
        updatedAt: now,
        size: usage.size,
        inodes: usage.inodes,
      });
      return record.id;
    },
    remove: (key) => {
      const record = this.#get(key);
      for (const _ of this.#children.getKeys({ start: [record.id], end: [record.id + 1], limit: 1 })) {
        throw failedPrecondition(`cannot remove snapshot ${JSON.stringify(key)} with child`);
      }
      if (record.parent !== "") {
        const parent = this.#snapshots.get(record.parent);
        if (parent !== undefined) this.#children.removeSync([parent.id, record.id]);
      }
      this.#snapshots.removeSync(key);
      this.#chains.delete(record.id);
      return { id: record.id, kind: record.kind };
    },
    updateInfo: (info, fieldpaths) => {
      const record = this.#get(info.name);
      // A Map, so that any label key (even "__proto__") is just a key.
      let labels = new Map(fieldpaths.length === 0 ? Object.entries(info.labels) : record.labels);
      for (const path of fieldpaths) {
        if (path.startsWith("labels.")) {
          const label = path.slice("labels.".length);
          const value = Object.hasOwn(info.labels, label) ? info.labels[label] : undefined;
          if (value === undefined) labels.delete(label);
          else labels.set(label, value);
        } else if (path === "labels") {
          labels = new Map(Object.entries(info.labels));
        } else {
          throw invalidArgument(`cannot update ${JSON.stringify(path)} field on snapshot ${JSON.stringify(info.name)}`);
        }
      }
      const updatedLabels = withoutEmpty(Object.fromEntries(labels));
      validateLabels(updatedLabels);
      const updated = { ...record, labels: Object.entries(updatedLabels), updatedAt: nowTimestamp() };
      this.#snapshots.putSync(info.name, updated);
      return toInfo(info.name, updated);
    },
  };

  #get(key: string): SnapshotRecord {
    const record = key === "" ? undefined : this.#snapshots.get(key);
    if (record === undefined) throw notFound(`snapshot ${JSON.stringify(key)} does not exist`);
    return record;
  }

  /**
   * `#parentIds` of committed `record`, kept for the next child (see `#chains`): walks up only to
   * the nearest ancestor whose chain is known, then records the chain of each record it passed.
   */
  #committedChain(record: SnapshotRecord): readonly number[] {
    const passed: SnapshotRecord[] = [];
    let chain: readonly number[] = [];
    for (let current: SnapshotRecord | undefined = record; current !== undefined;) {
      const known = this.#chains.get(current.id);
      if (known !== undefined) {
        chain = passed.length === 0 ? known : [current.id, ...known];
        break;
      }
      passed.push(current);
      current = current.parent === "" ? undefined : this.#snapshots.get(current.parent);
    }
    // Nearest the known end first: each record's chain is its parent followed by the parent's chain.
    for (let i = passed.length - 1; i >= 0; i--) {
      const ownChain = chain;
      this.#chains.set(passed[i]!.id, ownChain);
      if (i > 0) chain = [passed[i]!.id, ...ownChain];
    }
    return this.#chains.get(record.id) ?? chain;
  }

  #parentIds(record: SnapshotRecord): number[] {
    const ids: number[] = [];
    for (let parent = record.parent; parent !== "";) {
      const next = this.#snapshots.get(parent);
      if (next === undefined) break;
      ids.push(next.id);
      parent = next.parent;
    }
    return ids;
  }
}

function checkKey(key: string): void {
  if (key === "") throw invalidArgument("snapshot key must not be empty");
  if (Buffer.byteLength(key) > maxKeyBytes) throw invalidArgument(`snapshot key is longer than ${maxKeyBytes} bytes`);
}

// An empty value means no label, as containerd's boltutil.WriteLabels stores it.
function withoutEmpty(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([, value]) => value !== ""));
}

function toInfo(name: string, record: SnapshotRecord): SnapshotInfo {
  return {
    name,
    parent: record.parent,
    kind: record.kind,
    labels: Object.fromEntries(record.labels),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}
