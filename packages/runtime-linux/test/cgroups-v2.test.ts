import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isKind } from "@berth/api";
import { cgroupsV2 } from "@berth/api/proto";
import { type HostFacts, locateCgroup, parseCgroupMounts, readCgroupV2Metrics } from "@berth/runtime-linux";
import { type BusyProcess, type TestCgroup2, createCgroupV2, startBusyProcess, testDirectory } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const maxUint64 = 2n ** 64n - 1n;
const noDevices: HostFacts["devices"] = () => new Map();

describe("cgroup v2 statistics of a cgroup in a cgroup2 hierarchy the test mounts", () => {
  let base: string;
  let cgroup: TestCgroup2 | undefined;
  let busy: BusyProcess | undefined;

  beforeAll(async () => {
    base = testDirectory("cgroup2");
    try {
      // Controllers this host leaves to cgroup2 (on a hybrid host, often only hugetlb) are enabled.
      cgroup = await createCgroupV2("stats", join(base, "mnt"), ["hugetlb", "pids", "memory", "cpu", "io"]);
      if (existsSync(join(cgroup.directory, "hugetlb.2MB.max"))) cgroup.write("", "hugetlb.2MB.max", String(4 << 20));
      if (existsSync(join(cgroup.directory, "pids.max"))) cgroup.write("", "pids.max", "32");
      busy = startBusyProcess();
      cgroup.add(busy.pid);
      busy.go();
      await new Promise((resolve) => setTimeout(resolve, 300));
      busy.stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
    } catch (error) {
      await busy?.kill();
      await cgroup?.remove();
      rmSync(base, { recursive: true, force: true });
      throw error;
    }
  });

  afterAll(async () => {
    await busy?.kill();
    await cgroup?.remove();
    rmSync(base, { recursive: true, force: true });
  });

  const file = (name: string) => readFileSync(join(cgroup!.directory, name), "utf8").trim();
  const keyed = (name: string) =>
    new Map(
      file(name)
        .split("\n")
        .map((line) => [line.split(" ")[0]!, BigInt(line.split(" ")[1]!)] as const),
    );
  const sizes = ["2MB"];

  it("is found under the mount by its path", () => {
    const mounts = parseCgroupMounts(`30 1 0:26 / ${cgroup!.mountPoint} rw,nosuid - cgroup2 cgroup2 rw\n`);
    expect(mounts.version).toBe(2);
    expect(locateCgroup(cgroup!.path, mounts)).toEqual({ version: 2, directory: cgroup!.directory });
  });

  it("reads cpu.stat (kept for every cgroup) as the busy process used it", () => {
    const metrics = readCgroupV2Metrics(cgroup!.directory, { hugePageSizes: sizes, devices: noDevices, clockTicks: 100 });
    const stat = keyed("cpu.stat");
    expect(metrics.cpu).toMatchObject({ usageUsec: stat.get("usage_usec"), userUsec: stat.get("user_usec"), systemUsec: stat.get("system_usec") });
    expect(metrics.cpu!.nrPeriods).toBe(stat.get("nr_periods") ?? 0n);
    expect(metrics.cpu!.usageUsec).toBeGreaterThan(50_000n);
    if (existsSync(join(cgroup!.directory, "cpu.pressure"))) {
      const some = file("cpu.pressure").split("\n")[0]!;
      expect(metrics.cpu!.psi!.some!.total).toBe(BigInt(/total=(\d+)/.exec(some)![1]!));
    }
  });

  it("reads hugetlb current and limit, and pids, where cgroup2 has those controllers", () => {
    const metrics = readCgroupV2Metrics(cgroup!.directory, { hugePageSizes: sizes, devices: noDevices, clockTicks: 100 });
    if (cgroup!.enabled.includes("hugetlb") || existsSync(join(cgroup!.directory, "hugetlb.2MB.max"))) {
      expect(metrics.hugetlb).toEqual([{ pagesize: "2MB", current: BigInt(file("hugetlb.2MB.current")), max: BigInt(4 << 20) }]);
    } else {
      expect(metrics.hugetlb).toEqual([{ pagesize: "2MB", current: 0n, max: 0n }]);
    }
    if (existsSync(join(cgroup!.directory, "pids.current"))) expect(metrics.pids).toEqual({ current: BigInt(file("pids.current")), limit: 32n });
    else expect(metrics.pids).toEqual({ current: 0n, limit: 0n });
  });

  it("leaves memory_events unset when memory.events is absent", () => {
    const metrics = readCgroupV2Metrics(cgroup!.directory, { hugePageSizes: sizes, devices: noDevices, clockTicks: 100 });
    expect(metrics.memoryEvents === undefined).toBe(!existsSync(join(cgroup!.directory, "memory.events")));
  });

  it("fails with NotFound once the cgroup is gone", () => {
    let error: unknown;
    try {
      readCgroupV2Metrics(join(cgroup!.mountPoint, "berth-test-never-made"));
    } catch (caught) {
      error = caught;
    }
    expect(isKind(error, "NotFound")).toBe(true);
  });
});

// What a container's cgroup holds on a cgroup v2 host with every controller (files as Linux 6.1 writes them).
const fixture: Record<string, string> = {
  "cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
  "cpu.stat":
    "usage_usec 5029187\nuser_usec 3512030\nsystem_usec 1517157\ncore_sched.force_idle_usec 0\nnr_periods 4521\nnr_throttled 37\nthrottled_usec 1893374\nnr_bursts 0\nburst_usec 0\n",
  "cpu.pressure": "some avg10=1.25 avg60=0.50 avg300=0.10 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7890\n",
  "memory.current": "12820480\n",
  "memory.max": "max\n",
  "memory.peak": "30154752\n",
  "memory.swap.current": "0\n",
  "memory.swap.max": "max\n",
  "memory.stat":
    [
      "anon 5406720",
      "file 6082560",
      "kernel 1159168",
      "kernel_stack 98304",
      "pagetables 172032",
      "sec_pagetables 0",
      "percpu 2880",
      "sock 4096",
      "vmalloc 0",
      "shmem 8192",
      "zswap 0",
      "zswapped 0",
      "file_mapped 4071424",
      "file_dirty 12288",
      "file_writeback 4096",
      "swapcached 0",
      "anon_thp 2097152",
      "file_thp 0",
      "shmem_thp 0",
      "inactive_anon 5365760",
      "active_anon 49152",
      "inactive_file 4505600",
      "active_file 1576960",
      "unevictable 16384",
      "slab_reclaimable 536104",
      "slab_unreclaimable 319296",
      "slab 855400",
      "workingset_refault_anon 0",
      "workingset_refault_file 11",
      "workingset_activate_anon 0",
      "workingset_activate_file 3",
      "workingset_restore_anon 0",
      "workingset_restore_file 0",
      "workingset_nodereclaim 5",
      "pgscan 17",
      "pgsteal 13",
      "pgscan_kswapd 0",
      "pgscan_direct 17",
      "pgscan_khugepaged 0",
      "pgsteal_kswapd 0",
      "pgsteal_direct 13",
      "pgsteal_khugepaged 0",
      "pgfault 9823",
      "pgmajfault 12",
      "pgrefill 2",
      "pgactivate 387",
      "pgdeactivate 1",
      "pglazyfree 0",
      "pglazyfreed 0",
      "zswpin 0",
      "zswpout 0",
      "thp_fault_alloc 1",
      "thp_collapse_alloc 0",
    ].join("\n") + "\n",
  "memory.events": "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\noom_group_kill 0\n",
  "memory.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=42\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=40\n",
  "io.stat": "254:0 rbytes=1855488 wbytes=77824 rios=93 wios=14 dbytes=0 dios=0\n7:0 rbytes=8192 wbytes=0 rios=2 wios=0 dbytes=0 dios=0\n",
  "io.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=9\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=8\n",
  "pids.current": "3\n",
  "pids.max": "max\n",
  "hugetlb.2MB.current": "0\n",
  "hugetlb.2MB.max": "4194304\n",
  "hugetlb.1GB.current": "0\n",
  "hugetlb.1GB.max": "max\n",
  "rdma.current": "mlx4_0 hca_handle=1 hca_object=20\n",
  "rdma.max": "mlx4_0 hca_handle=2 hca_object=max\n",
};

describe("cgroup v2 statistics of a fixture tree with every controller", () => {
  let directory: string;
  beforeAll(() => {
    directory = testDirectory("cgroup2-fixture");
    mkdirSync(join(directory, "default", "redis"), { recursive: true });
    for (const [name, content] of Object.entries(fixture)) writeFileSync(join(directory, "default", "redis", name), content);
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it("fills io.containerd.cgroups.v2.Metrics as containerd does", () => {
    const metrics = readCgroupV2Metrics(join(directory, "default", "redis"), { hugePageSizes: ["1GB", "2MB"], devices: noDevices, clockTicks: 100 });
    const expected = cgroupsV2.Metrics.fromPartial({
      pids: { current: 3n, limit: maxUint64 },
      cpu: {
        usageUsec: 5029187n,
        userUsec: 3512030n,
        systemUsec: 1517157n,
        nrPeriods: 4521n,
        nrThrottled: 37n,
        throttledUsec: 1893374n,
        psi: { some: { avg10: 1.25, avg60: 0.5, avg300: 0.1, total: 123456n }, full: { total: 7890n } },
      },
      memory: {
        anon: 5406720n,
        file: 6082560n,
        kernelStack: 98304n,
        slab: 855400n,
        sock: 4096n,
        shmem: 8192n,
        fileMapped: 4071424n,
        fileDirty: 12288n,
        fileWriteback: 4096n,
        anonThp: 2097152n,
        inactiveAnon: 5365760n,
        activeAnon: 49152n,
        inactiveFile: 4505600n,
        activeFile: 1576960n,
        unevictable: 16384n,
        slabReclaimable: 536104n,
        slabUnreclaimable: 319296n,
        pgfault: 9823n,
        pgmajfault: 12n,
        workingsetRefault: 0n,
        workingsetActivate: 0n,
        workingsetNodereclaim: 5n,
        pgrefill: 2n,
        pgscan: 17n,
        pgsteal: 13n,
        pgactivate: 387n,
        pgdeactivate: 1n,
        thpFaultAlloc: 1n,
        usage: 12820480n,
        usageLimit: maxUint64,
        maxUsage: 30154752n,
        swapUsage: 0n,
        swapLimit: maxUint64,
        swapMaxUsage: 0n,
        psi: { some: { total: 42n }, full: { total: 40n } },
      },
      memoryEvents: { low: 0n, high: 0n, max: 4n, oom: 2n, oomKill: 1n },
      io: {
        usage: [
          { major: 254n, minor: 0n, rbytes: 1855488n, wbytes: 77824n, rios: 93n, wios: 14n },
          { major: 7n, minor: 0n, rbytes: 8192n, wbytes: 0n, rios: 2n, wios: 0n },
        ],
        psi: { some: { total: 9n }, full: { total: 8n } },
      },
      rdma: { current: [{ device: "mlx4_0", hcaHandles: 1, hcaObjects: 20 }], limit: [{ device: "mlx4_0", hcaHandles: 2, hcaObjects: 0xffffffff }] },
      hugetlb: [
        { pagesize: "1GB", current: 0n, max: maxUint64 },
        { pagesize: "2MB", current: 0n, max: 4194304n },
      ],
    });
    expect(metrics).toEqual(expected);
    // It survives the wire: "max" is 2^64-1 exactly, as a Go client decodes it.
    expect(cgroupsV2.Metrics.decode(cgroupsV2.Metrics.encode(metrics).finish())).toEqual(expected);
  });

  it("is found by its path under a unified host's mount", () => {
    const mounts = parseCgroupMounts(`25 1 0:22 / ${directory} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n`);
    expect(locateCgroup("/default/redis", mounts)).toEqual({ version: 2, directory: join(directory, "default", "redis") });
  });

  it("rejects a malformed stat file with a message naming it", () => {
    const broken = join(directory, "broken");
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, "cpu.stat"), "usage_usec lots\n");
    expect(() => readCgroupV2Metrics(broken, { hugePageSizes: [], devices: noDevices, clockTicks: 100 })).toThrow(/broken\/cpu\.stat/);
  });
});
