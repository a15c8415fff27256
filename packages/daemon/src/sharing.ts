import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import type { Mount } from "@berth/api";
import type { Database } from "lmdb";
import type { MetadataStore } from "./metadata.js";

/** A committed backend snapshot whose content Berth produced itself, by chain ID. */
export interface VerifiedChain {
  readonly backendKey: string;
  /** The verified parent's backend key; "" for a base layer. */
  readonly parentBackendKey: string;
}

interface ActiveSnapshot {
  /** The mounts handed out for it, as a key. */
  readonly signature: string;
  readonly parentBackendKey: string;
  /** The diff ID of the one layer Berth applied onto it while it was pristine; "tainted" after anything else. */
  applied: string | "tainted" | undefined;
}

/** The applier's handle on an active snapshot it is about to write. */
export interface ApplyTarget {
  readonly active: ActiveSnapshot;
}

const chainIdPattern = /^sha256:[0-9a-f]{64}$/;

const signature = (mounts: readonly Mount[]) => JSON.stringify(mounts.map((m) => [m.type, m.source, [...m.options]]));

/** True when the active snapshot behind `mounts` still equals its parent (nothing written yet). */
function pristine(mounts: readonly Mount[]): boolean {
  const [mount] = mounts;
  if (mounts.length !== 1 || mount === undefined) return false;
  const empty = (directory: string) => {
    try {
      return readdirSync(directory).length === 0;
    } catch {
      return false;
    }
  };
  if (mount.type === "bind") return empty(mount.source);
  if (mount.type === "overlay") {
    const upper = mount.options.find((o) => o.startsWith("upperdir="));
    return upper !== undefined && empty(upper.slice("upperdir=".length));
  }
  // Other backends (btrfs) cannot show cheaply that nothing was written: never shared.
  return false;
}

const chainOf = (parentChain: string, diffId: string) =>
  parentChain === "" ? diffId : `sha256:${createHash("sha256").update(`${parentChain} ${diffId}`).digest("hex")}`;

/**
 * Which committed snapshots namespaces may share. A snapshot is verified only when Berth applied
 * exactly one layer (read from the digest-checked content store) onto a pristine active snapshot
 * whose parent is itself verified (or absent), and it was committed under the chain ID Berth
 * computed from the applied diff ID. A name a client merely chose is never trusted: a namespace
 * that commits anything else under a chain ID keeps it to itself.
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

  /** Remembers a freshly prepared active snapshot, by the mounts handed out for it. */
  prepared(snapshotter: string, backendKey: string, parentBackendKey: string, mounts: readonly Mount[]): void {
    const key = `${snapshotter}/${backendKey}`;
    const active: ActiveSnapshot = { signature: signature(mounts), parentBackendKey, applied: undefined };
    this.#actives.set(key, active);
    this.#activeByMounts.set(active.signature, key);
  }

  /** Called by the applier before writing onto `mounts`. */
  beforeApply(mounts: readonly Mount[]): ApplyTarget | undefined {
    const key = this.#activeByMounts.get(signature(mounts));
    const active = key === undefined ? undefined : this.#actives.get(key);
    if (active === undefined) return undefined;
    if (active.applied !== undefined || !pristine(mounts)) {
      active.applied = "tainted";
      return undefined;
    }
    return { active };
  }

  /** Called by the applier once a layer with `diffId` was applied completely. */
  applied(target: ApplyTarget, diffId: string): void {
    target.active.applied = target.active.applied === undefined ? diffId : "tainted";
  }

  /** Called when an apply onto the target failed part-way. */
  failed(target: ApplyTarget): void {
    target.active.applied = "tainted";
  }

  /**
   * Records the commit of `activeBackendKey` as `name` (now `committedBackendKey`) and says
   * whether it is verified. Call inside the commit's metadata transaction.
   */
  committed(snapshotter: string, name: string, activeBackendKey: string, committedBackendKey: string): boolean {
    const active = this.#forgetActive(snapshotter, activeBackendKey);
    if (active === undefined) return false;
    if (active.applied === undefined || active.applied === "tainted") return false;
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
