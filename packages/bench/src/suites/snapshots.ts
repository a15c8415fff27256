import { type CallContext, isKind } from "@berth/api";
import type { Client } from "@berth/client";
import { defaultSnapshotterFor } from "@berth/oci";
import { mean, percentile, withTimeout } from "../measure.js";
import { ensureNamespace } from "./seeding.js";

/**
 * The snapshots a benchmark has made (or may have made: a call cut short by a timeout may have
 * taken effect) and not yet removed, oldest first; whatever is left in it is removed newest first
 * (children before their parents) when the benchmark ends, ignoring those not found.
 */
export type SnapshotStack = string[];

export interface LeasedRunOptions {
  /** Bound of the benchmark itself (creating the namespace and the lease included). */
  readonly timeoutMs: number;
  /** Bound of the clean-up afterwards: removing the snapshots left and deleting the lease. */
  readonly cleanupTimeoutMs?: number;
  /** Describes the progress made, for the timeout's message. */
  readonly what: () => string;
  /** The snapshotter (default: this platform's, "overlayfs" on Linux). */
  readonly snapshotter?: string;
}

const ignore = (): void => {};

/**
 * Runs `body` in `namespace` (created if missing) under a new lease of its own, bounded by
 * `timeoutMs`. Afterwards, whether it succeeded, failed or timed out, the snapshots left on `stack`
 * are removed newest first and the lease is deleted with sync=true (so that the daemon's garbage
 * collection drops what it held before the next benchmark), all bounded by `cleanupTimeoutMs`.
 * A failed clean-up is reported on stderr; it does not discard the measurement.
 */
export async function leasedRun<T>(
  client: Client,
  namespace: string,
  body: (context: CallContext, stack: SnapshotStack) => Promise<T>,
  options: LeasedRunOptions,
): Promise<T> {
  const { timeoutMs, cleanupTimeoutMs = 60_000, what, snapshotter = defaultSnapshotterFor() } = options;
  const abort = new AbortController();
  const base: CallContext = { namespace, signal: abort.signal };
  const stack: SnapshotStack = [];
  let leaseId: string | undefined;
  const work = (async () => {
    await ensureNamespace(client, base, namespace);
    leaseId = (await client.leases.create(base, { id: "", labels: {} })).id;
    return body({ ...base, lease: leaseId }, stack);
  })();
  try {
    return await withTimeout(work, timeoutMs, what, () => abort.abort());
  } finally {
    // An aborted run settles once its call in flight is cancelled; wait for that (briefly) so
    // that it adds nothing to the stack while the clean-up runs.
    await withTimeout(work.then(ignore, ignore), 5_000, "the cancelled run").catch(ignore);
    const cleanupAbort = new AbortController();
    const context: CallContext = { namespace, signal: cleanupAbort.signal };
    const snapshots = client.snapshotter(snapshotter);
    const problems: string[] = [];
    const total = stack.length;
    const cleanup = async () => {
      while (stack.length > 0) {
        const key = stack[stack.length - 1]!;
        try {
          await snapshots.remove(context, key);
        } catch (error) {
          if (!isKind(error, "NotFound")) problems.push(`removing snapshot ${key}: ${error instanceof Error ? error.message : String(error)}`);
        }
        stack.pop();
      }
      if (leaseId !== undefined) await client.leases.delete(context, leaseId, true);
    };
    try {
      await withTimeout(
        cleanup(),
        cleanupTimeoutMs,
        () => `cleaning up ${namespace} (${total - stack.length} of ${total} snapshots removed)`,
        () => cleanupAbort.abort(),
      );
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
    for (const problem of problems) console.error(`bench: clean-up of ${namespace}: ${problem}`);
  }
}

export interface SnapshotLatencyStats {
  readonly meanMs: number;
  readonly p50Ms: number;
}

export interface SnapshotLatencyOptions {
  /** Namespace of the run; it should be used by no other benchmark. */
  readonly namespace?: string;
  readonly warmup?: number;
  /** Timed prepare+commit pairs. */
  readonly samples?: number;
  readonly timeoutMs?: number;
  readonly snapshotter?: string;
}

/**
 * Latency in ms of Snapshots.Prepare followed by Snapshots.Commit, on a chain: each snapshot is
 * prepared on the one committed before it (the first on none). `warmup` untimed pairs start the
 * chain, then `samples` timed ones follow. The chain is removed newest first afterwards.
 */
export async function prepareCommitLatency(client: Client, options: SnapshotLatencyOptions = {}): Promise<SnapshotLatencyStats> {
  const { namespace = "bench-snapshots", warmup = 5, samples = 50, timeoutMs = 60_000, snapshotter = defaultSnapshotterFor() } = options;
  const snapshots = client.snapshotter(snapshotter);
  let done = 0;
  const run = async (context: CallContext, stack: SnapshotStack) => {
    const durations: number[] = [];
    let parent = "";
    for (let i = 0; i < warmup + samples; i++) {
      const key = `bench-chain-${process.pid}-${i}-active`;
      const name = `bench-chain-${process.pid}-${i}`;
      // On the stack before each call: a call cut short by the timeout may still have been made.
      // Either the active key or the committed name exists after an interrupted commit; removing
      // the key first and then the name is right in both cases.
      stack.push(key);
      const start = performance.now();
      await snapshots.prepare(context, key, parent);
      stack.splice(stack.length - 1, 0, name);
      await snapshots.commit(context, name, key);
      const ms = performance.now() - start;
      // The active snapshot became the committed one.
      stack.pop();
      if (i >= warmup) durations.push(ms);
      parent = name;
      done++;
    }
    return durations;
  };
  const durations = await leasedRun(client, namespace, run, {
    timeoutMs,
    what: () => `${warmup + samples} snapshot prepare+commit pairs (${done} done)`,
    snapshotter,
  });
  return { meanMs: mean(durations), p50Ms: percentile(durations, 50) };
}
