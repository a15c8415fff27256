import { setTimeout as sleep } from "node:timers/promises";
import { type Snapshotter, isKind } from "@berth/api";
import type { CallActivity } from "./call-activity.js";
import type { Logger } from "./log.js";

/**
 * Removes backend snapshots whose last metadata record is gone, one at a time in the order asked
 * (a child's removal is asked before its parent's, and the backend refuses a parent with children).
 * As containerd, a Snapshots.Remove answers once its metadata commit is made; the backend snapshot
 * and its directory go afterwards, here, `delayMs` later (as containerd's GC) and in a pause between
 * calls, so that the backend's commit and the directory's deletion do not hold up the calls a client
 * makes next. A crash before that leaves a backend snapshot no record names, which `removeOrphans`
 * finds when the daemon starts.
 */
export class BackendRemovals {
  #queue: Promise<unknown> = Promise.resolve();
  #hurried: Promise<void>;
  #hurry!: () => void;

  constructor(
    private readonly snapshotter: string,
    private readonly backend: Snapshotter,
    private readonly logger: Logger | undefined,
    private readonly delayMs = 0,
    /** When given, a deferred removal also waits for a pause in the daemon's calls (see CallActivity). */
    private readonly calls?: CallActivity,
  ) {
    this.#hurried = this.#nextHurry();
  }

  #nextHurry(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#hurry = () => {
        resolve();
        this.#hurried = this.#nextHurry();
      };
    });
  }

  /**
   * Queues the removal of `backendKey`, made `delayMs` from now at the earliest when `deferred`;
   * resolves when it is done: true if it removed the snapshot, false if the backend had no such
   * snapshot or failed (then logged, not thrown).
   */
  remove(backendKey: string, deferred = false): Promise<boolean> {
    const due = deferred ? performance.now() + this.delayMs : 0;
    // A removal someone waits for (the GC's, under `--sync` too) ends the pause-waiting of those queued before it.
    if (!deferred) this.#hurry();
    const hurried = this.#hurried;
    const removal = this.#queue.then(async () => {
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (deferred && this.calls !== undefined) await Promise.race([this.calls.quiet(), hurried]);
      return this.backend.remove({}, backendKey).then(
        () => true,
        (error: unknown) => {
          // NotFound: gone already, a removal after a crash finishing one that had started.
          if (!isKind(error, "NotFound")) this.logger?.warn({ err: error, snapshotter: this.snapshotter, backendKey }, "could not remove backend snapshot");
          return false;
        },
      );
    });
    this.#queue = removal;
    return removal;
  }

  /** Resolves when every removal queued so far is done. */
  async settled(): Promise<void> {
    await this.#queue;
  }

  /**
   * Removes every backend snapshot that no key in `named` refers to, children first: what a crash
   * between a metadata commit and its backend removal left. Call only while nothing prepares
   * (at start): a prepare makes its backend snapshot before its record.
   */
  async removeOrphans(named: ReadonlySet<string>): Promise<number> {
    const parents = new Map<string, string>();
    for await (const info of this.backend.list({}, [])) if (!named.has(info.name)) parents.set(info.name, info.parent);
    let removed = 0;
    while (parents.size > 0) {
      const hasChild = new Set(parents.values());
      const leaves = [...parents.keys()].filter((key) => !hasChild.has(key));
      // A named snapshot cannot have an orphan parent; should one anyway, stop rather than loop.
      if (leaves.length === 0) break;
      for (const key of leaves) {
        parents.delete(key);
        if (await this.remove(key)) removed++;
      }
    }
    return removed;
  }
}
