import type { Mount, Snapshotter } from "@berth/api";
import { chainId } from "@berth/oci";
import type { Database } from "lmdb";
import type { MetadataStore } from "./metadata.js";

/** A committed backend snapshot whose content Berth produced itself, by chain ID. */
export interface VerifiedChain {
  readonly backendKey: string;
  /** The verified parent's backend key; "" for a base layer. */
  readonly parentBackendKey: string;
}

/** A backend that can tell what was written into an active snapshot, hence can share. */
type MarkingSnapshotter = Snapshotter & Required<Pick<Snapshotter, "pristineMark">>;

interface ActiveSnapshot {
  readonly backend: MarkingSnapshotter;
  readonly backendKey: string;
  /** The mounts handed out for it, as a key: the differ is given mounts only. */
  readonly signature: string;
  readonly parentBackendKey: string;
  /** The backend's mark when Berth last knew everything written into it (after prepare, after its apply). */
  mark: string;
  /**
   * "applying" while Berth applies a layer onto it, then the diff ID of that layer; "tainted"
   * once anything else happened (a write by anyone else, a second apply, a failure).
   */
  applied: string | "applying" | "tainted" | undefined;
}

/** The applier's handle on an active snapshot it is about to write. */
export interface ApplyTarget {
  readonly active: ActiveSnapshot;
}

const chainIdPattern = /^sha256:[0-9a-f]{64}$/;

const signature = (mounts: readonly Mount[]) => JSON.stringify(mounts.map((m) => [m.type, m.source, [...m.options]]));

const marking = (backend: Snapshotter): backend is MarkingSnapshotter => typeof backend.pristineMark === "function";

/** The backend's mark of `active`, or undefined when it cannot give one (then nothing is trusted). */
const markOf = (active: ActiveSnapshot) => active.backend.pristineMark({}, active.backendKey).catch(() => undefined);

const isDiffId = (applied: ActiveSnapshot["applied"]): applied is string => applied !== undefined && chainIdPattern.test(applied);

/** The chain ID of a layer applied onto the chain `parentChain` ("" for none): a chain ID is its own one-layer chain. */
const chainOf = (parentChain: string, diffId: string) => chainId(parentChain === "" ? [diffId] : [parentChain, diffId]);

/**
 * Which committed snapshots namespaces may share. A snapshot is verified only when Berth applied
 * exactly one layer (read from the digest-checked content store) onto an active snapshot whose
 * parent is itself verified (or absent), nothing else was written into it from its prepare to its
 * commit, and it was committed under the chain ID Berth computed from the applied diff ID. A name
 * a client merely chose is never trusted: a namespace that commits anything else under a chain ID
 * keeps it to itself.
 *
 * "Nothing else was written" is the backend's answer, through its `pristineMark` capability: the
 * mark taken right after prepare must still hold before the apply, and the one taken right after
 * the apply must still hold before the commit. A backend without the capability never shares.
 */
export class SnapshotSharing {
  readonly #chains: Database<VerifiedChain, string>;
  readonly #chainOfBackendKey: Database<string, string>;
  /** Prepared active snapshots by `<snapshotter>/<backend key>`, and that key by the mounts handed out. */
  readonly #actives = new Map<string, ActiveSnapshot>();
  readonly #activeByMounts = new Map<string, string>();

  constructor(store: MetadataStore) {
    this.#chains = store.shared<VerifiedChain>("verified-chains");
    this.#chainOfBackendKey = store.shared<string>("verified-backend-keys");
  }

  /**
   * Remembers a freshly prepared active snapshot, by the mounts handed out for it, with the
   * backend's first mark. Call before anyone else is given the mounts.
   */
  async prepared(snapshotter: string, backend: Snapshotter, backendKey: string, parentBackendKey: string, mounts: readonly Mount[]): Promise<void> {
    if (!marking(backend)) return;
    const mark = await backend.pristineMark({}, backendKey).catch(() => undefined);
    if (mark === undefined) return;
    const active: ActiveSnapshot = { backend, backendKey, signature: signature(mounts), parentBackendKey, mark, applied: undefined };
    this.#actives.set(`${snapshotter}/${backendKey}`, active);
    this.#activeByMounts.set(active.signature, `${snapshotter}/${backendKey}`);
  }

  /** Called by the applier before writing onto `mounts`. */
  async beforeApply(mounts: readonly Mount[]): Promise<ApplyTarget | undefined> {
    const key = this.#activeByMounts.get(signature(mounts));
    const active = key === undefined ? undefined : this.#actives.get(key);
    if (active === undefined) return undefined;
    if (active.applied !== undefined) {
      active.applied = "tainted";
      return undefined;
    }
    active.applied = "applying";
    if ((await markOf(active)) !== active.mark) {
      active.applied = "tainted";
      return undefined;
    }
    return { active };
  }

  /** Called by the applier once a layer with `diffId` was applied completely. */
  async applied(target: ApplyTarget, diffId: string): Promise<void> {
    const { active } = target;
    if (active.applied !== "applying") return this.failed(target);
    const mark = await markOf(active);
    if (mark === undefined || active.applied !== "applying") return this.failed(target);
    active.mark = mark;
    active.applied = diffId;
  }

  /** Called when an apply onto the target failed part-way. */
  failed(target: ApplyTarget): void {
    target.active.applied = "tainted";
  }

  /** Called just before the backend commits `backendKey`: anything written since Berth's apply taints it. */
  async beforeCommit(snapshotter: string, backendKey: string): Promise<void> {
    const active = this.#actives.get(`${snapshotter}/${backendKey}`);
    if (active === undefined || !isDiffId(active.applied)) return;
    const applied = active.applied;
    if ((await markOf(active)) !== active.mark || active.applied !== applied) active.applied = "tainted";
  }

  /**
   * Records the commit of `activeBackendKey` as `name` (now `committedBackendKey`) and says
   * whether it is verified. Call inside the commit's metadata transaction.
   */
  committed(snapshotter: string, name: string, activeBackendKey: string, committedBackendKey: string): boolean {
    const active = this.#forgetActive(snapshotter, activeBackendKey);
    if (active === undefined) return false;
    if (!isDiffId(active.applied)) return false;
    const parentChain = active.parentBackendKey === "" ? "" : this.#chainByBackendKey(snapshotter, active.parentBackendKey);
    if (parentChain === undefined || chainOf(parentChain, active.applied) !== name) return false;
    this.#chains.put(`${snapshotter}/${name}`, { backendKey: committedBackendKey, parentBackendKey: active.parentBackendKey });
    this.#chainOfBackendKey.put(`${snapshotter}/${committedBackendKey}`, name);
    return true;
  }

  /** The verified snapshot with this chain ID, if there is one. */
  verified(snapshotter: string, chainId: string): VerifiedChain | undefined {
    // only chain IDs are ever recorded; any other name (of any length) is not one
    if (!chainIdPattern.test(chainId)) return undefined;
    return this.#chains.get(`${snapshotter}/${chainId}`);
  }

  /**
   * Forgets an active snapshot that was removed, and a verified one whose backend snapshot is
   * gone. Call inside the removal's metadata transaction.
   */
  removed(snapshotter: string, backendKey: string): void {
    this.#forgetActive(snapshotter, backendKey);
    const chain = this.#chainByBackendKey(snapshotter, backendKey);
    if (chain === undefined) return;
    this.#chains.remove(`${snapshotter}/${chain}`);
    this.#chainOfBackendKey.remove(`${snapshotter}/${backendKey}`);
  }

  #forgetActive(snapshotter: string, backendKey: string): ActiveSnapshot | undefined {
    const key = `${snapshotter}/${backendKey}`;
    const active = this.#actives.get(key);
    if (active === undefined) return undefined;
    this.#actives.delete(key);
    this.#activeByMounts.delete(active.signature);
    return active;
  }

  #chainByBackendKey(snapshotter: string, backendKey: string): string | undefined {
    return this.#chainOfBackendKey.get(`${snapshotter}/${backendKey}`);
  }
}
