import { existsSync } from "node:fs";
import { join } from "node:path";
import { notFound } from "@berth/api";
import * as cgroupsV2 from "@berth/api/gen/io/containerd/cgroups/v2/metrics";
import { assignFrom, parseRdma, readFlatKeyed, readOptional, readUintOrMax } from "./files.js";
import { type HostFacts, hostFacts } from "./host.js";

const memoryStatKeys: ReadonlyArray<readonly [keyof cgroupsV2.MemoryStat, string]> = [
  ["anon", "anon"],
  ["file", "file"],
  ["kernelStack", "kernel_stack"],
  ["slab", "slab"],
  ["sock", "sock"],
  ["shmem", "shmem"],
  ["fileMapped", "file_mapped"],
  ["fileDirty", "file_dirty"],
  ["fileWriteback", "file_writeback"],
  ["anonThp", "anon_thp"],
  ["inactiveAnon", "inactive_anon"],
  ["activeAnon", "active_anon"],
  ["inactiveFile", "inactive_file"],
  ["activeFile", "active_file"],
  ["unevictable", "unevictable"],
  ["slabReclaimable", "slab_reclaimable"],
  ["slabUnreclaimable", "slab_unreclaimable"],
  ["pgfault", "pgfault"],
  ["pgmajfault", "pgmajfault"],
  ["workingsetRefault", "workingset_refault"],
  ["workingsetActivate", "workingset_activate"],
  ["workingsetNodereclaim", "workingset_nodereclaim"],
  ["pgrefill", "pgrefill"],
  ["pgscan", "pgscan"],
  ["pgsteal", "pgsteal"],
  ["pgactivate", "pgactivate"],
  ["pgdeactivate", "pgdeactivate"],
  ["pglazyfree", "pglazyfree"],
  ["pglazyfreed", "pglazyfreed"],
  ["thpFaultAlloc", "thp_fault_alloc"],
  ["thpCollapseAlloc", "thp_collapse_alloc"],
];

/** `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` (and `full …`); undefined when PSI is off. */
export function parsePressure(text: string | undefined, where: string): cgroupsV2.PSIStats | undefined {
  if (text === undefined) return undefined;
  const stats = cgroupsV2.PSIStats.create();
  for (const line of text.split("\n")) {
    const [kind, ...pairs] = line.trim().split(/\s+/);
    if (kind !== "some" && kind !== "full") continue;
    const data = cgroupsV2.PSIData.create();
    for (const pair of pairs) {
      const [key, value] = pair.split("=");
      if (value === undefined) throw new Error(`${where}: malformed PSI field ${JSON.stringify(pair)}`);
      if (key === "total") data.total = BigInt(value);
      else if (key === "avg10" || key === "avg60" || key === "avg300") data[key] = Number(value);
    }
    stats[kind] = data;
  }
  return stats;
}

/** io.stat: `8:0 rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…` per device. */
export function parseIoStat(text: string | undefined): cgroupsV2.IOEntry[] {
  if (text === undefined) return [];
  const entries: cgroupsV2.IOEntry[] = [];
  for (const line of text.split("\n")) {
    const [device, ...pairs] = line.trim().split(" ");
    const numbers = device?.split(":");
    if (numbers?.length !== 2 || pairs.length === 0 || !numbers.every((n) => /^\d+$/.test(n))) continue;
    const entry = cgroupsV2.IOEntry.create({ major: BigInt(numbers[0]!), minor: BigInt(numbers[1]!) });
    for (const pair of pairs) {
      const [key, value] = pair.split("=");
      if (value === undefined || !/^\d+$/.test(value)) continue;
      if (key === "rbytes" || key === "wbytes" || key === "rios" || key === "wios") entry[key] = BigInt(value);
    }
    entries.push(entry);
  }
  return entries;
}

/**
 * Reads a cgroup v2 cgroup's statistics into io.containerd.cgroups.v2.Metrics as containerd's
 * cgroups library fills it: pids, cpu, memory, io, rdma and one hugetlb entry per host page size are
 * always present (zero where a controller is off); memory_events only when memory.events exists.
 * A value of "max" is 2^64-1. One difference: cpu.stat is read whether or not the cpu controller is
 * enabled, because its usage fields are kept for every cgroup. NotFound when the cgroup is gone.
 */
export function readCgroupV2Metrics(directory: string, host: HostFacts = hostFacts()): cgroupsV2.Metrics {
  if (!existsSync(directory)) throw notFound(`cgroup ${directory} not found`);
  const where = (file: string) => join(directory, file);
  const cpuStat = readFlatKeyed(directory, "cpu.stat") ?? new Map();
  const memoryStat = readFlatKeyed(directory, "memory.stat") ?? new Map();
  const events = readFlatKeyed(directory, "memory.events");

  const metrics = cgroupsV2.Metrics.create();
  metrics.pids = { current: readUintOrMax(directory, "pids.current"), limit: readUintOrMax(directory, "pids.max") };
  metrics.cpu = assignFrom(cgroupsV2.CPUStat.create(), cpuStat, [
    ["usageUsec", "usage_usec"],
    ["userUsec", "user_usec"],
    ["systemUsec", "system_usec"],
    ["nrPeriods", "nr_periods"],
    ["nrThrottled", "nr_throttled"],
    ["throttledUsec", "throttled_usec"],
    ["nrBursts", "nr_bursts"],
    ["burstUsec", "burst_usec"],
  ]);
  metrics.cpu.psi = parsePressure(readOptional(directory, "cpu.pressure"), where("cpu.pressure"));
  metrics.memory = assignFrom(cgroupsV2.MemoryStat.create(), memoryStat, memoryStatKeys);
  metrics.memory.usage = readUintOrMax(directory, "memory.current");
  metrics.memory.usageLimit = readUintOrMax(directory, "memory.max");
  metrics.memory.maxUsage = readUintOrMax(directory, "memory.peak");
  metrics.memory.swapUsage = readUintOrMax(directory, "memory.swap.current");
  metrics.memory.swapLimit = readUintOrMax(directory, "memory.swap.max");
  metrics.memory.swapMaxUsage = readUintOrMax(directory, "memory.swap.peak");
  metrics.memory.psi = parsePressure(readOptional(directory, "memory.pressure"), where("memory.pressure"));
  if (events !== undefined && events.size > 0) {
    metrics.memoryEvents = assignFrom(cgroupsV2.MemoryEvents.create(), events, [
      ["low", "low"],
      ["high", "high"],
      ["max", "max"],
      ["oom", "oom"],
      ["oomKill", "oom_kill"],
    ]);
  }
  metrics.io = { usage: parseIoStat(readOptional(directory, "io.stat")), psi: parsePressure(readOptional(directory, "io.pressure"), where("io.pressure")) };
  metrics.rdma = { current: parseRdma(readOptional(directory, "rdma.current")), limit: parseRdma(readOptional(directory, "rdma.max")) };
  metrics.hugetlb = host.hugePageSizes.map((pagesize) => ({
    pagesize,
    current: readUintOrMax(directory, `hugetlb.${pagesize}.current`),
    max: readUintOrMax(directory, `hugetlb.${pagesize}.max`),
  }));
  return metrics;
}
