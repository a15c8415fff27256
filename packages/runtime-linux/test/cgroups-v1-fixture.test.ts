import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hugePageSizeName, locateCgroup, parseCgroupMounts, parsePartitions, parseProcCgroup, readCgroupV1Metrics } from "@berth/runtime-linux";
import { testDirectory } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Controllers this machine cannot give a test (hugetlb has no v1 hierarchy here; CFQ is gone from
// current kernels), as files of Linux 4.19 with CFQ and a hugetlb hierarchy show them.
const hugetlbFiles: Record<string, string> = {
  "hugetlb.2MB.usage_in_bytes": "4194304\n",
  "hugetlb.2MB.max_usage_in_bytes": "6291456\n",
  "hugetlb.2MB.failcnt": "3\n",
  "hugetlb.2MB.limit_in_bytes": "8388608\n",
  "hugetlb.1GB.usage_in_bytes": "0\n",
  "hugetlb.1GB.max_usage_in_bytes": "0\n",
  "hugetlb.1GB.failcnt": "0\n",
};
const cfqFiles: Record<string, string> = {
  "blkio.io_serviced_recursive": "8:0 Read 93\n8:0 Write 14\n8:0 Sync 100\n8:0 Async 7\n8:0 Total 107\nTotal 107\n",
  "blkio.io_service_bytes_recursive": "8:0 Read 1855488\n8:0 Write 77824\n8:0 Sync 1900000\n8:0 Async 33312\n8:0 Total 1933312\nTotal 1933312\n",
  "blkio.sectors_recursive": "8:0 3776\n",
  "blkio.io_queued_recursive": "8:0 Read 0\n8:0 Write 0\n8:0 Sync 0\n8:0 Async 0\n8:0 Total 0\nTotal 0\n",
  "blkio.io_service_time_recursive": "8:0 Read 5000\n8:0 Write 100\n8:0 Sync 5100\n8:0 Async 0\n8:0 Total 5100\nTotal 5100\n",
  "blkio.io_wait_time_recursive": "Total 0\n",
  "blkio.io_merged_recursive": "Total 0\n",
  "blkio.time_recursive": "8:0 44\n",
  "blkio.throttle.io_serviced_recursive": "8:0 Read 1\nTotal 1\n",
};

describe("cgroup v1 fixture trees", () => {
  let base: string;
  beforeAll(() => {
    base = testDirectory("cgroup1-fixture");
    for (const [controller, files] of [
      ["hugetlb", hugetlbFiles],
      ["blkio", cfqFiles],
    ] as const) {
      mkdirSync(join(base, controller, "default", "redis"), { recursive: true });
      for (const [name, content] of Object.entries(files)) writeFileSync(join(base, controller, "default", "redis", name), content);
    }
    mkdirSync(join(base, "pids", "default", "redis"), { recursive: true });
    writeFileSync(join(base, "pids", "default", "redis", "pids.current"), "2\n");
    writeFileSync(join(base, "pids", "default", "redis", "pids.max"), "max\n");
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  const mountinfo = () =>
    ["hugetlb", "blkio", "pids"]
      .map(
        (controller, i) =>
          `${40 + i} 25 0:${30 + i} / ${join(base, controller)} rw,nosuid,nodev,noexec,relatime shared:${10 + i} - cgroup cgroup rw,${controller}`,
      )
      .join("\n");
  const host = { hugePageSizes: ["1GB", "2MB"], devices: () => parsePartitions("major minor  #blocks  name\n\n   8        0  1000 sda\n"), clockTicks: 100 };

  it("reads hugetlb usage, maximum usage (as max) and failcnt per page size", () => {
    const location = locateCgroup("/default/redis", parseCgroupMounts(mountinfo()));
    if (location.version !== 1) throw new Error("expected v1");
    const metrics = readCgroupV1Metrics(location.directories, host);
    expect(metrics.hugetlb).toEqual([
      { pagesize: "1GB", usage: 0n, max: 0n, failcnt: 0n },
      { pagesize: "2MB", usage: 4194304n, max: 6291456n, failcnt: 3n },
    ]);
    expect(metrics.pids).toEqual({ current: 2n, limit: 0n });
    // cpu is always there, zero without its controllers; memory only with its controller.
    expect(metrics.cpu).toEqual({
      usage: { total: 0n, kernel: 0n, user: 0n, perCpu: [] },
      throttling: { periods: 0n, throttledPeriods: 0n, throttledTime: 0n },
    });
    expect(metrics.memory).toBeUndefined();
  });

  it("reads CFQ's recursive blkio files when present, and not the throttle ones", () => {
    const location = locateCgroup("/default/redis", parseCgroupMounts(mountinfo()));
    if (location.version !== 1) throw new Error("expected v1");
    const blkio = readCgroupV1Metrics(location.directories, host).blkio!;
    const entry = (op: string, value: bigint) => ({ device: "/dev/sda", major: 8n, minor: 0n, op, value });
    expect(blkio.ioServicedRecursive).toEqual([entry("Read", 93n), entry("Write", 14n), entry("Sync", 100n), entry("Async", 7n), entry("Total", 107n)]);
    expect(blkio.ioServiceBytesRecursive[0]).toEqual(entry("Read", 1855488n));
    expect(blkio.sectorsRecursive).toEqual([entry("", 3776n)]);
    expect(blkio.ioTimeRecursive).toEqual([entry("", 44n)]);
    expect(blkio.ioWaitTimeRecursive).toEqual([]);
    expect(blkio.ioServiceTimeRecursive.map((e) => e.value)).toEqual([5000n, 100n, 5100n, 0n, 5100n]);
  });

  it("parses mount tables and /proc/<pid>/cgroup of hybrid and unified hosts", () => {
    const hybrid = parseCgroupMounts(
      [
        "34 25 0:29 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate",
        "35 25 0:30 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd",
        "38 25 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:14 - cgroup cgroup rw,cpu,cpuacct",
        "39 25 0:34 /kube /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory",
      ].join("\n"),
    );
    expect(hybrid.version).toBe(1);
    expect(hybrid.v1.get("cpuacct")).toEqual({ root: "/", mountPoint: "/sys/fs/cgroup/cpu,cpuacct" });
    const location = locateCgroup("/kube/pod1/c1", hybrid);
    expect(location).toEqual({
      version: 1,
      directories: new Map([
        ["cpu", "/sys/fs/cgroup/cpu,cpuacct/kube/pod1/c1"],
        ["cpuacct", "/sys/fs/cgroup/cpu,cpuacct/kube/pod1/c1"],
        ["memory", "/sys/fs/cgroup/memory/pod1/c1"],
      ]),
    });
    expect(parseCgroupMounts("29 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot").version).toBe(2);
    expect(parseProcCgroup("12:pids:/default/a\n4:cpu,cpuacct:/default/a\n1:name=systemd:/init.scope\n0::/system.slice/x\n")).toEqual({
      v1: new Map([
        ["pids", "/default/a"],
        ["cpu", "/default/a"],
        ["cpuacct", "/default/a"],
        ["name=systemd", "/init.scope"],
      ]),
      v2: "/system.slice/x",
    });
    expect(() => locateCgroup("default/a", hybrid)).toThrow(/must be absolute/);
  });

  it("names huge page sizes as the kernel's hugetlb files do", () => {
    expect(["hugepages-2048kB", "hugepages-1048576kB", "hugepages-64kB", "other"].map(hugePageSizeName)).toEqual(["2MB", "1GB", "64KB", undefined]);
  });
});
