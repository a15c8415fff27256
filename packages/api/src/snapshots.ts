import type { CallContext } from "./context.js";
import type { Timestamp } from "./timestamps.js";

/** A mount the caller performs itself, as mount(8) takes it. */
export interface Mount {
  readonly type: string;
  readonly source: string;
  readonly target?: string;
  readonly options: readonly string[];
}

export type SnapshotKind = "view" | "active" | "committed";

export interface SnapshotInfo {
  /** The key of an active or view snapshot, the name of a committed one. */
  readonly name: string;
  /** The committed snapshot it stacks on; "" for none. */
  readonly parent: string;
  readonly kind: SnapshotKind;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: Timestamp;
  readonly updatedAt: Timestamp;
}

export interface SnapshotUsage {
  /** Bytes used by this snapshot's own layer (not its parents'). */
  readonly size: number;
  readonly inodes: number;
}

/**
 * A Snapshotter turns layers into root filesystems: a stack of snapshots, each a filesystem
 * that changes its parent. The contract, after containerd's:
 *
 * Kinds. An *active* snapshot (from `prepare`) is writable through its mounts and can be
 * committed. A *view* (from `view`) is a read-only look at its parent and cannot be committed.
 * A *committed* snapshot (from `commit` of an active one) is immutable, cannot be mounted itself,
 * and is the only kind that can be a parent. Active snapshots and views are named by their key,
 * committed ones by the name given at commit; both share one keyspace.
 *
 * Lifecycle. `prepare(key, parent)` makes an active snapshot on `parent` ("" for an empty one)
 * and returns the mounts that give its filesystem; `mounts(key)` returns them again.
 * `commit(name, key)` turns the active snapshot `key` into the committed `name`, after which
 * `key` no longer exists. `remove(key)` removes a snapshot that has no children.
 *
 * Errors (kinds, which every implementation and proxy must give):
 * - `prepare`/`view`: AlreadyExists when `key` is taken; NotFound when `parent` does not exist;
 *   InvalidArgument when `parent` is not committed.
 * - `commit`: NotFound for an unknown `key`; FailedPrecondition when `key` is not active;
 *   AlreadyExists when `name` is taken (and `key` stays active).
 * - `mounts`: NotFound for an unknown key; FailedPrecondition for a committed snapshot.
 * - `remove`: NotFound for an unknown key; FailedPrecondition while it has children.
 * - `stat`, `usage`, `update`: NotFound for an unknown key. `update` takes fieldpaths `labels`
 *   and `labels.<key>` (none: replace labels), anything else is InvalidArgument; name, parent,
 *   kind and created time never change.
 * - Labels obey containerd's 4096-byte rule (InvalidArgument).
 * A failed call changes nothing: no half-made snapshot directory, record or mount is left.
 *
 * `list` takes containerd filters (several OR'ed): `name`, `parent`, `kind` (`active`, `view`,
 * `committed`), `labels.<key>`. `usage` of a committed snapshot is fixed at commit; of an active
 * one it is measured when asked. `cleanup` removes whatever storage no snapshot owns (left by a
 * crash). Implementations may be namespaced by `context` (the daemon's) or not (a backend).
 */
export interface Snapshotter {
  stat(context: CallContext, key: string): Promise<SnapshotInfo>;
  update(context: CallContext, info: Pick<SnapshotInfo, "name" | "labels">, fieldpaths: readonly string[]): Promise<SnapshotInfo>;
  usage(context: CallContext, key: string): Promise<SnapshotUsage>;
  mounts(context: CallContext, key: string): Promise<Mount[]>;
  prepare(context: CallContext, key: string, parent: string, labels?: Readonly<Record<string, string>>): Promise<Mount[]>;
  view(context: CallContext, key: string, parent: string, labels?: Readonly<Record<string, string>>): Promise<Mount[]>;
  commit(context: CallContext, name: string, key: string, labels?: Readonly<Record<string, string>>): Promise<void>;
  remove(context: CallContext, key: string): Promise<void>;
  list(context: CallContext, filters: readonly string[]): AsyncIterable<SnapshotInfo>;
  cleanup(context: CallContext): Promise<void>;
  close(): Promise<void>;
}
