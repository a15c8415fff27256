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
  /**
   * Optional capability (introspection reports it as `pristine-marks`): a mark of what has been
   * written into the active snapshot `key` through its mounts, so that a caller can tell whether
   * anyone but itself wrote there. The daemon shares a committed snapshot across namespaces only
   * when it can show that the snapshot holds exactly its parent plus the one layer Berth's differ
   * applied: it takes a mark right after `prepare` (before anyone has the mounts), checks that it
   * is unchanged just before its apply, takes a new one right after the apply, and checks that it
   * is unchanged just before `commit`. A snapshotter without the capability never shares.
   *
   * The promise, which an implementation must keep or not offer the capability:
   * - Two calls that return the same mark mean that nothing was written into `key` between them:
   *   no file or directory created, removed, renamed, written, truncated, or had its mode, owner,
   *   times or xattrs changed, by any process through any mount of it.
   * - Different marks may be returned when nothing was written (metadata churn): that only
   *   loses sharing, never trusts a forged snapshot. Marks are opaque and compared for equality only.
   * - It must be cheap enough to call twice per layer of a pull (metadata only, no content reads).
   * Errors: NotFound for an unknown key; FailedPrecondition when `key` is not active.
   *
   * How the built-ins keep it: overlay fingerprints the upper directory's metadata (path, inode,
   * mode, owner, size, mtime and ctime of every entry; ctime cannot be set from user space, and
   * the mark waits until the clock is past every ctime it records, so a later write always shows);
   * btrfs uses the subvolume's generation after syncing the filesystem (`btrfs subvolume
   * find-new <subvol> <max>`), which every committed change to that subvolume's tree raises.
   */
  pristineMark?(context: CallContext, key: string): Promise<string>;
}

/** The introspection capability of a snapshotter that implements `pristineMark`, so shares snapshots. */
export const pristineMarksCapability = "pristine-marks";
