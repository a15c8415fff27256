import { type RunningTask, type RunningTasks, isKind } from "@berth/api";
import {
  type CgroupLocation,
  type CgroupMounts,
  type HostFacts,
  hostCgroupMounts,
  locateCgroup,
  locateCgroupOfPid,
  readCgroupStats,
} from "@berth/runtime-linux";
import { Gauge, type Registry } from "./prom.js";
import type { Logger } from "../log.js";
import type { ContainerMetric } from "./container-metric.js";
import { containerMetricsV1 } from "./containers-v1.js";
import { containerMetricsV2 } from "./containers-v2.js";
import type { ScrapeHook } from "./registry.js";

export interface ContainerMetricsOptions {
  /** Where cgroups are mounted; this host's by default. Its version picks containerd's v1 or v2 metrics. */
  readonly mounts?: CgroupMounts;
  readonly host?: HostFacts;
}

interface Registered {
  readonly metric: ContainerMetric<any>;
  readonly gauge: Gauge<string>;
}

/** The cgroup of a task: its spec's cgroupfs path when it has one, else the cgroup its init process is in. */
function locate(task: RunningTask, mounts: CgroupMounts): CgroupLocation {
  if (task.cgroupsPath?.startsWith("/")) return locateCgroup(task.cgroupsPath, mounts);
  return locateCgroupOfPid(task.pid, mounts);
}

/**
 * Per-container metrics, named and labelled as containerd's cgroups task monitor exports them
 * (container_id, namespace, runtime), read from each running task's cgroup at scrape time. Every
 * scrape starts empty, so a task no longer listed has no series.
 */
export class ContainerMetrics implements ScrapeHook {
  readonly #registered: Registered[];
  readonly #sources: () => Iterable<RunningTasks>;
  readonly #mounts: CgroupMounts;
  readonly #host: HostFacts | undefined;
  readonly #logger: Logger | undefined;

  constructor(registry: Registry, sources: () => Iterable<RunningTasks>, logger?: Logger, options: ContainerMetricsOptions = {}) {
    this.#sources = sources;
    this.#mounts = options.mounts ?? hostCgroupMounts();
    this.#host = options.host;
    this.#logger = logger;
    const metrics: readonly ContainerMetric<any>[] = this.#mounts.version === 2 ? containerMetricsV2 : containerMetricsV1;
    this.#registered = metrics.map((metric) => ({
      metric,
      gauge: new Gauge({
        name: metric.name,
        help: metric.help,
        labelNames: [...(metric.withoutRuntime ? ["container_id", "namespace"] : ["container_id", "namespace", "runtime"]), ...(metric.labels ?? [])],
        registers: [registry],
      }),
    }));
  }

  async #listTasks(): Promise<RunningTask[]> {
    const lists = await Promise.all([...this.#sources()].map((source) => source.runningTasks()));
    return lists.flat();
  }

  async beforeScrape(): Promise<void> {
    const tasks = await this.#listTasks();
    for (const { gauge } of this.#registered) gauge.reset();
    for (const task of tasks) {
      let stats;
      try {
        stats = readCgroupStats(locate(task, this.#mounts), this.#host);
      } catch (error) {
        // A task that exited between the listing and the read has nothing left to report.
        if (!isKind(error, "NotFound")) this.#logger?.warn({ err: error, namespace: task.namespace, id: task.id }, "reading a task's cgroup failed");
        continue;
      }
      for (const { metric, gauge } of this.#registered) {
        for (const [value, extra] of metric.samples(stats.metrics)) {
          const labels: Record<string, string> = { container_id: task.id, namespace: task.namespace };
          if (!metric.withoutRuntime) labels.runtime = task.runtime;
          metric.labels?.forEach((name, i) => (labels[name] = extra![i]!));
          gauge.set(labels, Number(value));
        }
      }
    }
  }
}
