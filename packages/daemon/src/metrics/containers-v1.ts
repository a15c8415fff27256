import type { cgroupsV1 } from "@berth/api/proto";
import { type ContainerMetric, type Sample, single } from "./container-metric.js";

type Metrics = cgroupsV1.Metrics;
type MemoryStat = cgroupsV1.MemoryStat;

const cpu: ContainerMetric<Metrics>[] = [
  single("container_cpu_total_nanoseconds", "The total cpu time", (s) => s.cpu?.usage?.total),
  single("container_cpu_kernel_nanoseconds", "The total kernel cpu time", (s) => s.cpu?.usage?.kernel),
  single("container_cpu_user_nanoseconds", "The total user cpu time", (s) => s.cpu?.usage?.user),
  {
    name: "container_per_cpu_nanoseconds",
    help: "The total cpu time per cpu",
    labels: ["cpu"],
    samples: (s) => (s.cpu?.usage?.perCpu ?? []).map((value, cpu): Sample => [value, [String(cpu)]]),
  },
  single("container_cpu_throttle_periods_total", "The total cpu throttle periods", (s) => s.cpu?.throttling?.periods),
  single("container_cpu_throttled_periods_total", "The total cpu throttled periods", (s) => s.cpu?.throttling?.throttledPeriods),
  single("container_cpu_throttled_time_nanoseconds", "The total cpu throttled time", (s) => s.cpu?.throttling?.throttledTime),
];

// memory.stat entries: [field, key in containerd's metric name, whether its help says "amount used"].
const memoryStatFields: ReadonlyArray<readonly [keyof MemoryStat, string, boolean]> = [
  ["cache", "cache", true],
  ["rss", "rss", true],
  ["rssHuge", "rss_huge", true],
  ["mappedFile", "mapped_file", true],
  ["dirty", "dirty", false],
  ["writeback", "writeback", false],
  ["pgPgIn", "pgpgin", false],
  ["pgPgOut", "pgpgout", false],
  ["pgFault", "pgfault", false],
  ["pgMajFault", "pgmajfault", false],
  ["inactiveAnon", "inactive_anon", false],
  ["activeAnon", "active_anon", false],
  ["inactiveFile", "inactive_file", false],
  ["activeFile", "active_file", false],
  ["unevictable", "unevictable", false],
  ["hierarchicalMemoryLimit", "hierarchical_memory_limit", false],
  ["hierarchicalSwapLimit", "hierarchical_memsw_limit", false],
  ["totalCache", "total_cache", true],
  ["totalRss", "total_rss", true],
  ["totalRssHuge", "total_rss_huge", true],
  ["totalMappedFile", "total_mapped_file", true],
  ["totalDirty", "total_dirty", false],
  ["totalWriteback", "total_writeback", false],
  ["totalPgPgIn", "total_pgpgin", false],
  ["totalPgPgOut", "total_pgpgout", false],
  ["totalPgFault", "total_pgfault", false],
  ["totalPgMajFault", "total_pgmajfault", false],
  ["totalInactiveAnon", "total_inactive_anon", false],
  ["totalActiveAnon", "total_active_anon", false],
  ["totalInactiveFile", "total_inactive_file", false],
  ["totalActiveFile", "total_active_file", false],
  ["totalUnevictable", "total_unevictable", false],
];

// The usage/swap/kernel/kernel-tcp entries, with the word containerd's help uses for each.
const memoryEntries: ReadonlyArray<readonly [keyof MemoryStat, string, string]> = [
  ["usage", "usage", "memory"],
  ["swap", "swap", "swap"],
  ["kernel", "kernel", "kernel"],
  ["kernelTcp", "kerneltcp", "kerneltcp"],
];

const memory: ContainerMetric<Metrics>[] = [
  ...memoryStatFields.map(([field, key, used]) =>
    single<Metrics>(`container_memory_${key}_bytes`, `The ${key} amount${used ? " used" : ""}`, (s) => s.memory?.[field] as bigint | undefined),
  ),
  ...memoryEntries.flatMap(([field, key, word]) => {
    const entry = (s: Metrics) => s.memory?.[field] as cgroupsV1.MemoryEntry | undefined;
    // containerd says "The memory limit" for usage, but "The swap limit" etc. for the rest.
    const subject = field === "usage" ? "memory" : word;
    return [
      single<Metrics>(`container_memory_${key}_failcnt_total`, `The ${key} failcnt`, (s) => entry(s)?.failcnt),
      single<Metrics>(`container_memory_${key}_limit_bytes`, `The ${subject} limit`, (s) => entry(s)?.limit),
      single<Metrics>(`container_memory_${key}_max_bytes`, `The ${subject} maximum usage`, (s) => entry(s)?.max),
      single<Metrics>(`container_memory_${key}_usage_bytes`, `The ${subject} usage`, (s) => entry(s)?.usage),
    ];
  }),
  {
    ...single<Metrics>("container_memory_oom_total", "The number of times a container has received an oom event", (s) => s.memoryOomControl?.oomKill),
    withoutRuntime: true,
  },
];

const pids: ContainerMetric<Metrics>[] = [
  single("container_pids_limit", "The limit to the number of pids allowed", (s) => s.pids?.limit),
  single("container_pids_current", "The current number of pids", (s) => s.pids?.current),
];

const hugetlb: ContainerMetric<Metrics>[] = (
  [
    ["usage", "bytes", "The hugetlb usage"],
    ["failcnt", "total", "The hugetlb failcnt"],
    ["max", "bytes", "The hugetlb maximum usage"],
  ] as const
).map(([field, unit, help]) => ({
  name: `container_hugetlb_${field}_${unit}`,
  help,
  labels: ["page"],
  samples: (s: Metrics) => s.hugetlb.map((h): Sample => [h[field], [h.pagesize]]),
}));

const blkioFields: ReadonlyArray<readonly [keyof cgroupsV1.BlkIOStat, string, "total" | "bytes"]> = [
  ["ioMergedRecursive", "io_merged_recursive", "total"],
  ["ioQueuedRecursive", "io_queued_recursive", "total"],
  ["ioServiceBytesRecursive", "io_service_bytes_recursive", "bytes"],
  ["ioServiceTimeRecursive", "io_service_time_recursive", "total"],
  ["ioServicedRecursive", "io_serviced_recursive", "total"],
  ["ioTimeRecursive", "io_time_recursive", "total"],
  ["sectorsRecursive", "sectors_recursive", "total"],
];

const blkio: ContainerMetric<Metrics>[] = blkioFields.map(([field, key, unit]) => ({
  name: `container_blkio_${key}_${unit}`,
  help: `The blkio ${key.replaceAll("_", " ")}`,
  labels: ["op", "device", "major", "minor"],
  samples: (s: Metrics) => (s.blkio?.[field] ?? []).map((e): Sample => [e.value, [e.op, e.device, String(e.major), String(e.minor)]]),
}));

/** containerd's cgroup v1 task metrics (metrics/cgroups/v1), in its order. */
export const containerMetricsV1: readonly ContainerMetric<Metrics>[] = [...pids, ...cpu, ...memory, ...hugetlb, ...blkio];
