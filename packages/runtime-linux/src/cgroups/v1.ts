import { existsSync } from "node:fs";
import { join } from "node:path";
import { notFound } from "@berth/api";
import * as cgroupsV1 from "@berth/api/gen/io/containerd/cgroups/v1/metrics";
import { assignFrom, parseRdma, parseUint, readFlatKeyed, readOptional } from "./files.js";
import { type HostFacts, hostFacts } from "./host.js";

type Metrics = cgroupsV1.Metrics;

/** A cgroup v1 cgroup: its directory in each mounted controller's hierarchy, by controller name. */
export type CgroupV1Directories = ReadonlyMap<string, string>;

const memoryStatKeys: ReadonlyArray<readonly [keyof cgroupsV1.MemoryStat, string]> = [
  ["cache", "cache"],
  ["rss", "rss"],
  ["rssHuge", "rss_huge"],
  ["mappedFile", "mapped_file"],
  ["dirty", "dirty"],
  ["writeback", "writeback"],
  ["pgPgIn", "pgpgin"],
  ["pgPgOut", "pgpgout"],
  ["pgFault", "pgfault"],
  ["pgMajFault", "pgmajfault"],
  ["inactiveAnon", "inactive_anon"],
  ["activeAnon", "active_anon"],
  ["inactiveFile", "inactive_file"],
  ["activeFile", "active_file"],
  ["unevictable", "unevictable"],
  ["hierarchicalMemoryLimit", "hierarchical_memory_limit"],
  ["hierarchicalSwapLimit", "hierarchical_memsw_limit"],
  ["totalCache", "total_cache"],
  ["totalRss", "total_rss"],
  ["totalRssHuge", "total_rss_huge"],
  ["totalMappedFile", "total_mapped_file"],
  ["totalDirty", "total_dirty"],
  ["totalWriteback", "total_writeback"],
  ["totalPgPgIn", "total_pgpgin"],
  ["totalPgPgOut", "total_pgpgout"],
  ["totalPgFault", "total_pgfault"],
  ["totalPgMajFault", "total_pgmajfault"],
  ["totalInactiveAnon", "total_inactive_anon"],
  ["totalActiveAnon", "total_active_anon"],
  ["totalInactiveFile", "total_inactive_file"],
  ["totalActiveFile", "total_active_file"],
  ["totalUnevictable", "total_unevictable"],
];

const nanosecondsPerSecond = 1_000_000_000n;

function cpuacct(directory: string, metrics: Metrics, host: HostFacts): void {
  const usage = metrics.cpu!.usage!;
  const stat = readFlatKeyed(directory, "cpuacct.stat");
  if (stat !== undefined) {
    // Ticks of USER_HZ, converted to nanoseconds as containerd does.
    const ticks = BigInt(host.clockTicks);
    usage.user = ((stat.get("user") ?? 0n) * nanosecondsPerSecond) / ticks;
    usage.kernel = ((stat.get("system") ?? 0n) * nanosecondsPerSecond) / ticks;
  }
  const total = readOptional(directory, "cpuacct.usage");
  if (total !== undefined) usage.total = parseUint(total, join(directory, "cpuacct.usage"));
  const perCpu = readOptional(directory, "cpuacct.usage_percpu");
  if (perCpu !== undefined)
    usage.perCpu = perCpu
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((v) => parseUint(v, join(directory, "cpuacct.usage_percpu")));
}

function cpu(directory: string, metrics: Metrics): void {
  const stat = readFlatKeyed(directory, "cpu.stat");
  if (stat === undefined) return;
  assignFrom(metrics.cpu!.throttling!, stat, [
    ["periods", "nr_periods"],
    ["throttledPeriods", "nr_throttled"],
    ["throttledTime", "throttled_time"],
  ]);
}

/** usage/max/failcnt/limit of memory, memory.memsw (swap), memory.kmem and memory.kmem.tcp. */
function memoryEntry(directory: string, prefix: string): cgroupsV1.MemoryEntry {
  const entry = cgroupsV1.MemoryEntry.create();
  for (const [field, file] of [
    ["usage", "usage_in_bytes"],
    ["max", "max_usage_in_bytes"],
    ["failcnt", "failcnt"],
    ["limit", "limit_in_bytes"],
  ] as const) {
    // memsw files are absent without swap accounting, kmem ones on kernels that dropped them.
    const text = readOptional(directory, `${prefix}.${file}`);
    if (text !== undefined) entry[field] = parseUint(text, join(directory, `${prefix}.${file}`));
  }
  return entry;
}

function memory(directory: string, metrics: Metrics): void {
  const stat = readFlatKeyed(directory, "memory.stat") ?? new Map();
  metrics.memory = assignFrom(cgroupsV1.MemoryStat.create(), stat, memoryStatKeys);
  metrics.memory.usage = memoryEntry(directory, "memory");
  metrics.memory.swap = memoryEntry(directory, "memory.memsw");
  metrics.memory.kernel = memoryEntry(directory, "memory.kmem");
  metrics.memory.kernelTcp = memoryEntry(directory, "memory.kmem.tcp");
  const oom = readFlatKeyed(directory, "memory.oom_control") ?? new Map();
  metrics.memoryOomControl = assignFrom(cgroupsV1.MemoryOomControl.create(), oom, [
    ["oomKillDisable", "oom_kill_disable"],
    ["underOom", "under_oom"],
    ["oomKill", "oom_kill"],
  ]);
}

function pids(directory: string, metrics: Metrics): void {
  const current = readOptional(directory, "pids.current");
  const max = readOptional(directory, "pids.max")?.trim();
  metrics.pids = {
    current: current === undefined ? 0n : parseUint(current, join(directory, "pids.current")),
    // "max" (no limit) is reported as 0, as containerd does on v1.
    limit: max === undefined || max === "max" ? 0n : parseUint(max, join(directory, "pids.max")),
  };
}

/** `8:0 Read 4096` lines (a `Total` line closes the list); blkio splits on spaces and colons. */
function blkioEntries(text: string | undefined, where: string, devices: () => ReadonlyMap<string, string>): cgroupsV1.BlkIOEntry[] {
  if (text === undefined) return [];
  const entries: cgroupsV1.BlkIOEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(/[ :]/).filter(Boolean);
    if (fields.length === 0 || (fields.length === 2 && fields[0] === "Total")) continue;
    if (fields.length < 3) throw new Error(`${where}: malformed line ${JSON.stringify(line)}`);
    const hasOp = fields.length === 4;
    entries.push({
      device: devices().get(`${fields[0]}:${fields[1]}`) ?? "",
      major: parseUint(fields[0]!, where),
      minor: parseUint(fields[1]!, where),
      op: hasOp ? fields[2]! : "",
      value: parseUint(fields[hasOp ? 3 : 2]!, where),
    });
  }
  return entries;
}

function blkio(directory: string, metrics: Metrics, host: HostFacts): void {
  let devices: ReadonlyMap<string, string> | undefined;
  const lookup = () => (devices ??= host.devices());
  const read = (file: string) => blkioEntries(readOptional(directory, `blkio.${file}`), join(directory, `blkio.${file}`), lookup);
  const stat = cgroupsV1.BlkIOStat.create();
  // CFQ's files first, as containerd; on kernels without CFQ (or with none of its entries) the
  // throttle files are what remains.
  if (existsSync(join(directory, "blkio.io_serviced_recursive"))) {
    stat.sectorsRecursive = read("sectors_recursive");
    stat.ioServiceBytesRecursive = read("io_service_bytes_recursive");
    stat.ioServicedRecursive = read("io_serviced_recursive");
    stat.ioQueuedRecursive = read("io_queued_recursive");
    stat.ioServiceTimeRecursive = read("io_service_time_recursive");
    stat.ioWaitTimeRecursive = read("io_wait_time_recursive");
    stat.ioMergedRecursive = read("io_merged_recursive");
    stat.ioTimeRecursive = read("time_recursive");
  }
  const found = Object.values(stat).some((entries) => entries.length > 0);
  if (!found) {
    stat.ioServicedRecursive = read("throttle.io_serviced_recursive");
    stat.ioServiceBytesRecursive = read("throttle.io_service_bytes_recursive");
  }
  metrics.blkio = stat;
}

function hugetlb(directory: string, metrics: Metrics, host: HostFacts): void {
  for (const pagesize of host.hugePageSizes) {
    const value = (name: string) => {
      const text = readOptional(directory, `hugetlb.${pagesize}.${name}`);
      return text === undefined ? 0n : parseUint(text, join(directory, `hugetlb.${pagesize}.${name}`));
    };
    // v1's "max" is the maximum usage seen, not the limit.
    metrics.hugetlb.push({ pagesize, usage: value("usage_in_bytes"), max: value("max_usage_in_bytes"), failcnt: value("failcnt") });
  }
}

function rdma(directory: string, metrics: Metrics): void {
  metrics.rdma = { current: parseRdma(readOptional(directory, "rdma.current")), limit: parseRdma(readOptional(directory, "rdma.max")) };
}

const readers: Record<string, (directory: string, metrics: Metrics, host: HostFacts) => void> = {
  cpuacct,
  cpu,
  memory,
  pids,
  blkio,
  hugetlb,
  rdma,
};

/**
 * Reads a cgroup v1 cgroup's statistics into io.containerd.cgroups.v1.Metrics, filled as
 * containerd's cgroups library fills it: cpu is always present; memory (with oom_control), pids,
 * blkio, hugetlb (one entry per host page size) and rdma when their controller is mounted and the
 * cgroup exists in it. Controllers whose directory is gone are skipped; NotFound when all are.
 */
export function readCgroupV1Metrics(directories: CgroupV1Directories, host: HostFacts = hostFacts()): Metrics {
  const metrics = cgroupsV1.Metrics.create({ cpu: { usage: {}, throttling: {} } });
  let present = 0;
  for (const [controller, directory] of directories) {
    const read = readers[controller];
    if (read === undefined) continue;
    if (!existsSync(directory)) continue;
    present++;
    read(directory, metrics, host);
  }
  if (present === 0) throw notFound(`cgroup ${[...new Set(directories.values())].join(", ")} not found`);
  return metrics;
}
