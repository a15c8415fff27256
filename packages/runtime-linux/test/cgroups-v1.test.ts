import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isKind } from "@berth/api";
import { hostFacts, locateCgroup, locateCgroupOfPid, readCgroupStats, readCgroupV1Metrics } from "@berth/runtime-linux";
import { type BusyProcess, type TestCgroup, cgroupV1Available, createCgroupV1, startBusyProcess } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Expected values are read straight from the cgroup files here, with nothing shared with the reader.
const text = (directory: string, file: string) => readFileSync(join(directory, file), "utf8").trim();
const uint = (directory: string, file: string) => BigInt(text(directory, file));
const keyed = (directory: string, file: string) =>
  new Map(
    text(directory, file)
      .split("\n")
      .map((line) => [line.split(" ")[0]!, BigInt(line.split(" ")[1]!)] as const),
  );

const firstDisk = () =>
  readFileSync("/proc/partitions", "utf8")
    .split("\n")
    .slice(2)
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f.length === 4);

describe.skipIf(!cgroupV1Available())("cgroup v1 statistics of a real cgroup", () => {
  let cgroup: TestCgroup;
  let busy: BusyProcess;
  const disk = firstDisk();

  beforeAll(async () => {
    cgroup = createCgroupV1("stats");
    try {
      cgroup.write("memory", "memory.limit_in_bytes", String(256 << 20));
      cgroup.write("pids", "pids.max", "64");
      // A fifth of a CPU for a process that wants all of one: it is throttled every period.
      cgroup.write("cpu", "cpu.cfs_period_us", "10000");
      cgroup.write("cpu", "cpu.cfs_quota_us", "2000");
      // A throttle rule makes the kernel keep per-device blkio entries for the cgroup.
      if (disk !== undefined) cgroup.write("blkio", "blkio.throttle.read_bps_device", `${disk[0]}:${disk[1]} 1000000000000`);
      busy = startBusyProcess(disk === undefined ? ":" : `dd if=/dev/${disk[3]} of=/dev/null bs=64k count=16 iflag=direct 2>/dev/null`);
      cgroup.add(busy.pid);
      busy.go();
      await new Promise((resolve) => setTimeout(resolve, 500));
      busy.stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
    } catch (error) {
      await busy?.kill();
      await cgroup.remove();
      throw error;
    }
  });

  afterAll(async () => {
    await busy?.kill();
    await cgroup?.remove();
  });

  it("finds the cgroup by its path and by the pid inside it", () => {
    const byPath = locateCgroup(cgroup.path);
    const byPid = locateCgroupOfPid(busy.pid);
    expect(byPath.version).toBe(1);
    expect(byPid.version).toBe(1);
    if (byPath.version !== 1 || byPid.version !== 1) return;
    for (const [controller, directory] of cgroup.directories) {
      expect(byPath.directories.get(controller)).toBe(directory);
      expect(byPid.directories.get(controller)).toBe(directory);
    }
  });

  it("reads cpu usage and throttling as containerd does", () => {
    const metrics = readCgroupV1Metrics(cgroup.directories);
    const cpuacct = cgroup.directories.get("cpuacct")!;
    const cpu = cgroup.directories.get("cpu")!;
    const ticks = keyed(cpuacct, "cpuacct.stat");
    expect(metrics.cpu!.usage).toEqual({
      total: uint(cpuacct, "cpuacct.usage"),
      user: (ticks.get("user")! * 1_000_000_000n) / 100n,
      kernel: (ticks.get("system")! * 1_000_000_000n) / 100n,
      perCpu: text(cpuacct, "cpuacct.usage_percpu").split(" ").map(BigInt),
    });
    expect(metrics.cpu!.usage!.total).toBeGreaterThan(50_000_000n);
    const stat = keyed(cpu, "cpu.stat");
    expect(metrics.cpu!.throttling).toEqual({
      periods: stat.get("nr_periods"),
      throttledPeriods: stat.get("nr_throttled"),
      throttledTime: stat.get("throttled_time"),
    });
    expect(metrics.cpu!.throttling!.throttledPeriods).toBeGreaterThan(0n);
  });

  it("reads memory usage, limits, stat and oom_control", () => {
    // The kernel frees a stopped cgroup's pages lazily, so a file may move between two reads: compare a reading
    // taken while the files held still, and fail if they never do.
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        compareMemory();
        return;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  });

  function compareMemory() {
    const memory = cgroup.directories.get("memory")!;
    const entry = (prefix: string) => ({
      usage: uint(memory, `${prefix}.usage_in_bytes`),
      max: uint(memory, `${prefix}.max_usage_in_bytes`),
      failcnt: uint(memory, `${prefix}.failcnt`),
      limit: uint(memory, `${prefix}.limit_in_bytes`),
    });
    const metrics = readCgroupV1Metrics(cgroup.directories);
    const stat = keyed(memory, "memory.stat");
    expect(metrics.memory!.usage).toEqual(entry("memory"));
    expect(metrics.memory!.usage!.limit).toBe(BigInt(256 << 20));
    expect(metrics.memory!.kernel).toEqual(entry("memory.kmem"));
    expect(metrics.memory!.kernelTcp).toEqual(entry("memory.kmem.tcp"));
    if (existsSync(join(memory, "memory.memsw.usage_in_bytes"))) expect(metrics.memory!.swap).toEqual(entry("memory.memsw"));
    expect(metrics.memory!.cache).toBe(stat.get("cache"));
    expect(metrics.memory!.rss).toBe(stat.get("rss"));
    expect(metrics.memory!.pgFault).toBe(stat.get("pgfault"));
    expect(metrics.memory!.hierarchicalMemoryLimit).toBe(stat.get("hierarchical_memory_limit"));
    expect(metrics.memory!.hierarchicalSwapLimit).toBe(stat.get("hierarchical_memsw_limit") ?? 0n);
    expect(metrics.memory!.totalInactiveFile).toBe(stat.get("total_inactive_file"));
    const oom = keyed(memory, "memory.oom_control");
    expect(metrics.memoryOomControl).toEqual({
      oomKillDisable: oom.get("oom_kill_disable"),
      underOom: oom.get("under_oom"),
      oomKill: oom.get("oom_kill") ?? 0n,
    });
  }

  it("reads pids with their limit", () => {
    const metrics = readCgroupV1Metrics(cgroup.directories);
    expect(metrics.pids).toEqual({ current: uint(cgroup.directories.get("pids")!, "pids.current"), limit: 64n });
    expect(metrics.pids!.current).toBeGreaterThanOrEqual(1n);
  });

  it.skipIf(disk === undefined)("reads blkio entries with their device names", () => {
    const metrics = readCgroupV1Metrics(cgroup.directories);
    const blkio = cgroup.directories.get("blkio")!;
    const lines = (file: string) =>
      text(blkio, file)
        .split("\n")
        .map((line) => line.split(/[ :]/))
        .filter((fields) => fields.length === 4)
        .map(([major, minor, op, value]) => ({ device: `/dev/${disk![3]}`, major: BigInt(major!), minor: BigInt(minor!), op, value: BigInt(value!) }));
    expect(metrics.blkio!.ioServiceBytesRecursive).toEqual(lines("blkio.throttle.io_service_bytes_recursive"));
    expect(metrics.blkio!.ioServicedRecursive).toEqual(lines("blkio.throttle.io_serviced_recursive"));
    expect(metrics.blkio!.ioServiceBytesRecursive.map((e) => e.op)).toContain("Read");
  });

  it("reports the same through readCgroupStats, and no hugetlb entries without a hugetlb hierarchy", () => {
    const stats = readCgroupStats(locateCgroup(cgroup.path));
    expect(stats.version).toBe(1);
    if (!cgroup.directories.has("hugetlb")) expect(stats.metrics.hugetlb).toEqual([]);
    else expect(stats.metrics.hugetlb.map((h) => h.pagesize)).toEqual(hostFacts().hugePageSizes);
  });

  it("fails with NotFound for a cgroup that does not exist", () => {
    let error: unknown;
    try {
      readCgroupStats(locateCgroup(`${cgroup.path}-missing`));
    } catch (caught) {
      error = caught;
    }
    expect(isKind(error, "NotFound")).toBe(true);
  });
});
