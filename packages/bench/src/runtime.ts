import {
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  ctrSession,
  disposeTaskDaemon,
  pushTestImage,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockCtr,
} from "@berth/testkit";
import type { Both, OnBoth, Suite, Target } from "./harness.js";
import { row } from "./harness.js";
import { type Outcome, attempt, median, timeMs } from "./measure.js";
import { ctrContainersLsMs, seedContainers } from "./suites/containers.js";
import type { MemoryTotal } from "./suites/memory.js";
import { type CheckpointTimes, checkpointRestoreMs } from "./suites/checkpoint.js";
import { type TaskMemory, ctrRunRmMs, memoryPerTask } from "./suites/tasks.js";
import type { Row } from "./table.js";

const runNamespace = `bench-run-${process.pid}`;
const tasksNamespace = `bench-tasks-${process.pid}`;
const containersNamespace = "bench-containers";
const checkpointNamespace = `bench-checkpoint-${process.pid}`;

const firstTaskRuns = 3;
/** A namespace of its own for each first task, so that Berth's shim (one per namespace) starts each time. */
const firstTaskNamespaces = Array.from({ length: firstTaskRuns + 1 }, (_, i) => `bench-first-${process.pid}-${i}`);

/** Namespaces that run tasks: their cgroups `/<namespace>` go when a daemon is disposed of. */
export const taskNamespaces: readonly string[] = [runNamespace, tasksNamespace, checkpointNamespace, ...firstTaskNamespaces];

const containerCount = 1000;
/** The `containers ls` cost curve: how listing grows with the namespace's containers. */
const containerCurve = [100, 1000, 10_000] as const;
const labelEvery = 10;
const runRuns = 10;
const memoryTasks = 50;

export interface RuntimeBenchOptions {
  readonly suites: ReadonlySet<Suite>;
  readonly targets: readonly Target[];
  readonly onBoth: OnBoth;
  /** Registers a daemon being started, so that an interrupt disposes of it too. */
  readonly track: (starting: Promise<RunningDaemon | undefined>) => void;
  readonly signal: AbortSignal;
  /** The shim binary for io.containerd.runc.v2 in the "default shim" berthd, instead of its default. */
  readonly berthShim?: string | undefined;
}

/** A berthd config that maps io.containerd.runc.v2 to `shim`. */
const shimConfig = (shim: string) => `version = 2\n[plugins."io.containerd.runtime.v2.task".shims]\n"io.containerd.runc.v2" = ${JSON.stringify(shim)}\n`;

/** Pulls `image` into `namespace` with stock ctr. */
async function pullInto(daemon: Pick<RunningDaemon, "address" | "root" | "state">, namespace: string, image: string): Promise<void> {
  const pulled = await ctrSession(daemon, namespace).ctr("images", "pull", "--plain-http", image);
  if (pulled.code !== 0) throw new Error(`ctr images pull ${image} exited with ${pulled.code}: ${pulled.stderr.trim()}`);
}

/**
 * Memory per running task on a daemon of its own, started by `start`: the image pulled, then
 * `memoryPerTask`; the daemon is disposed of (tasks, shims, mounts, cgroups) whatever happens.
 */
async function memoryOnFreshDaemon(
  label: string,
  start: () => Promise<RunningDaemon | undefined>,
  image: string,
  options: RuntimeBenchOptions,
): Promise<Outcome<TaskMemory>> {
  return attempt(`memory per task (${label})`, async () => {
    if (options.signal.aborted) throw new Error("interrupted");
    console.error(`bench: memory per task, ${memoryTasks} sleep tasks (${label})`);
    const starting = start();
    options.track(starting);
    const daemon = await starting;
    if (daemon === undefined) throw new Error("not installed");
    try {
      await pullInto(daemon, tasksNamespace, image);
      const session = ctrSession(daemon, tasksNamespace);
      const memory = await memoryPerTask(session, daemon.process.pid!, { image, tasks: memoryTasks, signal: options.signal });
      const mb = ({ rssKb, pssKb }: MemoryTotal) => `${(rssKb / 1024).toFixed(1)} MB RSS, ${(pssKb / 1024).toFixed(1)} MB PSS`;
      console.error(
        `bench:   ${label}: idle daemon ${mb(memory.idle)}; with ${memoryTasks} tasks: daemon ${mb(memory.daemonRunning)}, ` +
          `all ${memory.running.processes} processes ${mb(memory.running)}; helpers ${Object.entries(memory.helpers)
            .map(([command, count]) => `${command} ×${count}`)
            .join(", ")}`,
      );
      return memory;
    } finally {
      await disposeTaskDaemon(daemon, taskNamespaces);
    }
  });
}

/**
 * The first `ctr run --rm IMAGE id true` in each of `namespaces` but the first (which warms the page
 * cache and the image's snapshots), the image pulled into each beforehand: a new namespace means a
 * new shim for Berth (one per namespace) and for containerd (one per container).
 */
async function firstTaskMs(daemon: RunningDaemon, image: string, namespaces: readonly string[]): Promise<number> {
  const samples: number[] = [];
  for (const [i, namespace] of namespaces.entries()) {
    const session = ctrSession(daemon, namespace);
    try {
      await pullInto(daemon, namespace, image);
      const ms = await timeMs(async () => {
        const result = await session.ctr("run", "--rm", ...session.runFlags, image, "bench-first", "true");
        if (result.code !== 0) throw new Error(`ctr run --rm in ${namespace} exited with ${result.signal ?? result.code}: ${result.stderr.trim()}`);
      });
      if (i > 0) samples.push(ms);
    } finally {
      await session
        .removeAll()
        .catch((error: unknown) => console.error(`bench: removing what ctr run left: ${error instanceof Error ? error.message : String(error)}`));
    }
  }
  return median(samples);
}

/** The runtime suites (`run`, `containers`, `memory`) that `options.suites` selects, as table rows. */
export async function runtimeRows(options: RuntimeBenchOptions): Promise<Row[]> {
  const { suites, targets, onBoth } = options;
  if (!suites.has("run") && !suites.has("containers") && !suites.has("memory") && !suites.has("checkpoint")) return [];
  const hasContainerd = targets.some((target) => target.side === "containerd");
  const missing = <T>(): Both<T> => ({ berth: "n/a", containerd: hasContainerd ? "n/a" : undefined });
  let runRm = missing<number>();
  let firstTask = missing<number>();
  let curve = containerCurve.map(() => missing<number>());
  let containersLs = missing<number>();
  let containersFiltered = missing<number>();
  let checkpoint = missing<CheckpointTimes>();
  let memory: Record<"berthDefault" | "berthStock" | "containerd", Outcome<TaskMemory> | undefined> = {
    berthDefault: "n/a",
    berthStock: "n/a",
    containerd: undefined,
  };

  // Everything here drives the daemons through Debian's stock ctr.
  if (stockCtr !== undefined) {
    let registry: RunningRegistry | undefined;
    try {
      console.error("bench: serving testkit's busybox image from a local registry");
      registry = await startRegistry();
      await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
      const image = `${registry.host}/library/busybox:latest`;

      if (suites.has("run")) {
        runRm = await onBoth(`ctr run --rm, ${runRuns} runs`, async ({ daemon }) => {
          const session = ctrSession(daemon, runNamespace);
          try {
            await pullInto(daemon, runNamespace, image);
            return await ctrRunRmMs(session, image, { runs: runRuns });
          } finally {
            await session
              .removeAll()
              .catch((error: unknown) => console.error(`bench: removing what ctr run left: ${error instanceof Error ? error.message : String(error)}`));
          }
        });
      }

      if (suites.has("run")) {
        firstTask = await onBoth(`first task in a new namespace, ${firstTaskRuns} namespaces`, ({ daemon }) => firstTaskMs(daemon, image, firstTaskNamespaces));
      }

      if (suites.has("containers")) {
        curve = [];
        for (const count of containerCurve) {
          const namespace = `bench-containers-${count}`;
          const created = await onBoth(`creating ${count} containers`, ({ client }) =>
            seedContainers(client, namespace, { count, labelEvery, image, timeoutMs: 300_000 }),
          );
          curve.push(
            await onBoth(`ctr containers ls, ${count} containers`, ({ side, daemon }) => {
              if (typeof created[side] !== "number") throw new Error(`its ${count} containers were not created`);
              return ctrContainersLsMs(ctrSession(daemon, namespace), [], { expected: count, runs: 3, timeoutMs: 60_000 });
            }),
          );
        }
        const seeded = await onBoth(`creating ${containerCount} containers`, ({ client }) =>
          seedContainers(client, containersNamespace, { count: containerCount, labelEvery, image }),
        );
        const ifSeeded =
          (filters: string[], expected: (labelled: number) => number) =>
          async ({ side, daemon }: Target) => {
            const labelled = seeded[side];
            if (typeof labelled !== "number") throw new Error(`its ${containerCount} containers were not created`);
            return ctrContainersLsMs(ctrSession(daemon, containersNamespace), filters, { expected: expected(labelled) });
          };
        containersLs = await onBoth(
          "ctr containers ls",
          ifSeeded([], () => containerCount),
        );
        containersFiltered = await onBoth(
          "ctr containers ls labels.x==y",
          ifSeeded(["labels.x==y"], (labelled) => labelled),
        );
      }

      if (suites.has("checkpoint")) {
        checkpoint = await onBoth("checkpoint and restore of a sleep container", async ({ daemon }) => {
          const session = ctrSession(daemon, checkpointNamespace);
          try {
            await pullInto(daemon, checkpointNamespace, image);
            return await checkpointRestoreMs(session, image);
          } finally {
            await session
              .removeAll()
              .catch((error: unknown) => console.error(`bench: removing what the checkpoint left: ${error instanceof Error ? error.message : String(error)}`));
          }
        });
      }

      if (suites.has("memory")) {
        const berthDefault = await memoryOnFreshDaemon(
          options.berthShim === undefined ? "berthd, default shim" : `berthd, shim ${options.berthShim}`,
          () => startBerthd({ logLevel: "info", ...(options.berthShim === undefined ? {} : { config: shimConfig(options.berthShim) }) }),
          image,
          options,
        );
        const berthStock = await memoryOnFreshDaemon(
          "berthd, stock shim",
          () => startBerthd({ logLevel: "info", config: shimConfig("containerd-shim-runc-v2") }),
          image,
          options,
        );
        const containerd = hasContainerd ? await memoryOnFreshDaemon("containerd", startStockContainerd, image, options) : undefined;
        memory = { berthDefault, berthStock, containerd };
      }
    } finally {
      await registry?.stop();
    }
  }

  const memoryOf = (berth: "berthDefault" | "berthStock"): Both<TaskMemory> => ({ berth: memory[berth] ?? "n/a", containerd: memory.containerd });
  const rows: Row[] = [];
  if (suites.has("run")) {
    rows.push(row("ctr run --rm IMAGE id true, median (ms)", true, 0, runRm, (ms) => ms));
    rows.push(row(`first task in a new namespace, ctr run --rm, median of ${firstTaskRuns} (ms)`, true, 0, firstTask, (ms) => ms));
  }
  if (suites.has("containers")) {
    rows.push(row(`ctr containers ls, ${containerCount} containers, median (ms)`, true, 0, containersLs, (ms) => ms));
    containerCurve.forEach((count, i) => rows.push(row(`cost curve: ctr containers ls, ${count} containers, median (ms)`, true, 0, curve[i]!, (ms) => ms)));
    rows.push(row(`ctr containers ls labels.x==y, ${containerCount / labelEvery} of ${containerCount}, median (ms)`, true, 0, containersFiltered, (ms) => ms));
  }
  if (suites.has("checkpoint")) {
    rows.push(row("checkpoint of a sleep task, ctr containers checkpoint --task (ms)", true, 0, checkpoint, (times) => times.checkpointMs));
    rows.push(row("restore and start it, ctr containers restore --live (ms)", true, 0, checkpoint, (times) => times.restoreMs));
  }
  if (suites.has("memory")) {
    for (const [berth, shim] of [
      ["berthDefault", "default shim"],
      ["berthStock", "stock shim"],
    ] as const) {
      rows.push(row(`memory per task, ${memoryTasks} sleep tasks, ${shim}, PSS (MB)`, true, 2, memoryOf(berth), (m) => m.perTaskPssMb));
    }
    for (const [berth, shim] of [
      ["berthDefault", "default shim"],
      ["berthStock", "stock shim"],
    ] as const) {
      rows.push(row(`memory per task, ${memoryTasks} sleep tasks, ${shim}, RSS (MB)`, true, 2, memoryOf(berth), (m) => m.perTaskRssMb));
    }
  }
  return rows;
}
