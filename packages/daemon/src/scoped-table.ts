import { createHash } from "node:crypto";
import type { Database } from "lmdb";

/**
 * Ids longer than this many UTF-8 bytes are stored under a hashed key. containerd accepts image
 * names, snapshot keys, ingest refs and lease ids of any length (bolt takes 32 KiB keys); lmdb
 * refuses keys over 1978 bytes, so a long id's key is its first bytes and the SHA-256 of all of it.
 */
const plainIdBytes = 1024;

/** What a long id's record is stored as: the id itself, which its key no longer spells. */
interface LongIdEnvelope<V> {
  readonly longId: string;
  readonly value: V;
}

/**
 * The key of `id`. A hashed key's id part is always longer than `plainIdBytes` (a prefix of at
 * least `plainIdBytes - 3` bytes, then `#sha256:` and 64 hex digits), so that no plain id can equal it.
 */
function idKey(id: string): string {
  const bytes = Buffer.from(id);
  if (bytes.length <= plainIdBytes) return id;
  let end = plainIdBytes;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--; // never split a character
  return `${bytes.subarray(0, end).toString()}#sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

const isHashedKey = (idPart: string) => Buffer.byteLength(idPart) > plainIdBytes;

/**
 * One kind of namespaced object in the metadata store, keyed `<namespace>/<id>`, so that what a
 * namespace holds is one key range. Identifiers cannot contain "/", which keeps namespaces apart.
 * Ids of any length work: long ones are stored under a hashed key with the id beside the record.
 */
export class ScopedTable<V> {
  constructor(readonly db: Database<unknown, string>) {}

  get(namespace: string, id: string): V | undefined {
    const stored = this.db.get(`${namespace}/${idKey(id)}`);
    if (stored === undefined) return undefined;
    const { id: storedId, value } = this.#unpack(idKey(id), stored);
    return storedId === id ? value : undefined;
  }

  has(namespace: string, id: string): boolean {
    return this.get(namespace, id) !== undefined;
  }

  /** Within the caller's transaction. */
  put(namespace: string, id: string, value: V): void {
    const key = idKey(id);
    this.db.put(`${namespace}/${key}`, key === id ? value : ({ longId: id, value } satisfies LongIdEnvelope<V>));
  }

  /** Within the caller's transaction. */
  remove(namespace: string, id: string): void {
    if (this.has(namespace, id)) this.db.remove(`${namespace}/${idKey(id)}`);
  }

  /** Every id and record of `namespace`. */
  *inNamespace(namespace: string): Generator<{ id: string; value: V }> {
    for (const { key, value } of this.db.getRange({ start: `${namespace}/`, end: `${namespace}0` })) {
      yield this.#unpack(key.slice(namespace.length + 1), value);
    }
  }

  /** Every record of every namespace. */
  *everywhere(): Generator<{ namespace: string; id: string; value: V }> {
    for (const { key, value } of this.db.getRange()) {
      const slash = key.indexOf("/");
      yield { namespace: key.slice(0, slash), ...this.#unpack(key.slice(slash + 1), value) };
    }
  }

  /** Whether `namespace` holds any record here. */
  holdsAny(namespace: string): boolean {
    for (const _ of this.db.getKeys({ start: `${namespace}/`, end: `${namespace}0`, limit: 1 })) return true;
    return false;
  }

  /** How many records each namespace holds. */
  countByNamespace(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const key of this.db.getKeys()) {
      const namespace = key.slice(0, key.indexOf("/"));
      counts.set(namespace, (counts.get(namespace) ?? 0) + 1);
    }
    return counts;
  }

  #unpack(idPart: string, stored: unknown): { id: string; value: V } {
    if (!isHashedKey(idPart)) return { id: idPart, value: stored as V };
    const envelope = stored as LongIdEnvelope<V>;
    return { id: envelope.longId, value: envelope.value };
  }
}
