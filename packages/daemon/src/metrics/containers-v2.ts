import type { cgroupsV2 } from "@berth/api/proto";
import { type ContainerMetric, type Sample, single } from "./container-metric.js";

type Metrics = cgroupsV2.Metrics;
type MemoryStat = cgroupsV2.MemoryStat;

const pids: ContainerMetric<Metrics>[] = [
  single("container_pids_limit", "The limit to the number of pids allowed (cgroup v2)", (s) => s.pids?.limit),
  single("container_pids_current", "The current number of pids (cgroup v2)", (s) => s.pids?.current),
];

const cpu: ContainerMetric<Metrics>[] = [
  single("container_cpu_usage_usec_microseconds", "Total cpu usage (cgroup v2)", (s) => s.cpu?.usageUsec),
  single("container_cpu_user_usec_microseconds", "Current cpu usage in user space (cgroup v2)", (s) => s.cpu?.userUsec),
  single("container_cpu_system_usec_microseconds", "Current cpu usage in kernel space (cgroup v2)", (s) => s.cpu?.systemUsec),
  single("container_cpu_nr_periods_total", "Current cpu number of periods (only if controller is enabled)", (s) => s.cpu?.nrPeriods),
  single("container_cpu_nr_throttled_total", "Total number of times tasks have been throttled (only if controller is enabled)", (s) => s.cpu?.nrThrottled),
  single(
    "container_cpu_throttled_usec_microseconds",
    "Total time duration for which tasks have been throttled. (only if controller is enabled)",
    (s) => s.cpu?.throttledUsec,
  ),
];

// memory.stat fields containerd exports on v2, by the key in its metric names.
const memoryStatFields: ReadonlyArray<readonly [keyof MemoryStat, string]> = [
  ["fileMapped", "file_mapped"],
  ["fileDirty", "file_dirty"],
  ["fileWriteback", "file_writeback"],
  ["pgactivate", "pgactivate"],
  ["pgdeactivate", "pgdeactivate"],
  ["pgfault", "pgfault"],
  ["pgmajfault", "pgmajfault"],
  ["pglazyfree", "pglazyfree"],
  ["pgrefill", "pgrefill"],
  ["pglazyfreed", "pglazyfreed"],
  ["pgscan", "pgscan"],
  ["pgsteal", "pgsteal"],
  ["inactiveAnon", "inactive_anon"],
  ["activeAnon", "active_anon"],
  ["inactiveFile", "inactive_file"],
  ["activeFile", "active_file"],
  ["unevictable", "unevictable"],
  ["anon", "anon"],
  ["file", "file"],
  ["kernelStack", "kernel_stack"],
  ["slab", "slab"],
  ["sock", "sock"],
  ["shmem", "shmem"],
  ["anonThp", "anon_thp"],
  ["slabReclaimable", "slab_reclaimable"],
  ["slabUnreclaimable", "slab_unreclaimable"],
  ["workingsetRefault", "workingset_refault"],
  ["workingsetActivate", "workingset_activate"],
  ["workingsetNodereclaim", "workingset_nodereclaim"],
  ["thpFaultAlloc", "thp_fault_alloc"],
  ["thpCollapseAlloc", "thp_collapse_alloc"],
];

const memory: ContainerMetric<Metrics>[] = [
  single("container_memory_usage_bytes", "Current memory usage (cgroup v2)", (s) => s.memory?.usage),
  single("container_memory_usage_limit_bytes", "Current memory usage limit (cgroup v2)", (s) => s.memory?.usageLimit),
  single("container_memory_swap_usage_bytes", "Current swap usage (cgroup v2)", (s) => s.memory?.swapUsage),
  single("container_memory_swap_limit_bytes", "Current swap usage limit (cgroup v2)", (s) => s.memory?.swapLimit),
  ...memoryStatFields.map(([field, key]) =>
    single<Metrics>(`container_memory_${key}_bytes`, `The ${key} amount`, (s) => s.memory?.[field] as bigint | undefined),
  ),
  single("container_memory_oom_total", "The number of times a container has received an oom event", (s) => s.memoryEvents?.oom),
];

const io: ContainerMetric<Metrics>[] = (
  [
    ["rbytes", "bytes", "IO bytes read"],
    ["wbytes", "bytes", "IO bytes written"],
    ["rios", "total", "Number of read IOs"],
    ["wios", "total", "Number of write IOs"],
  ] as const
).map(([field, unit, help]) => ({
  name: `container_io_${field}_${unit}`,
  help,
  labels: ["major", "minor"],
  samples: (s: Metrics) => (s.io?.usage ?? []).map((e): Sample => [e[field], [String(e.major), String(e.minor)]]),
}));

/** containerd 1.7's cgroup v2 task metrics (metrics/cgroups/v2), in its order. */
export const containerMetricsV2: readonly ContainerMetric<Metrics>[] = [...pids, ...cpu, ...memory, ...io];
