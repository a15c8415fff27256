import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningTask, RunningTasks } from "@berth/api";
import { parseCgroupMounts } from "@berth/runtime-linux";
import { ContainerMetrics, Daemon, DaemonMetrics, type Plugin, builtinPlugins, createLogger, parseConfig } from "@berth/daemon";
import {
  type BusyProcess,
  type PromSample,
  type RunningDaemon,
  type TestCgroup,
  buildBusyboxImage,
  cgroupV1Available,
  createCgroupV1,
  freePort,
  ociArchive,
  parsePromText,
  promSamples,
  runCommand,
  scrapeProm,
  startBusyProcess,
  startStockContainerd,
  stockContainerdInstalled,
  stockCtr,
  testDirectory,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const file = (directory: string, name: string) => readFileSync(join(directory, name), "utf8").trim();
const keyed = (directory: string, name: string) =>
  new Map(
    file(directory, name)
      .split("\n")
      .map((l) => [l.split(" ")[0]!, Number(l.split(" ")[1])] as const),
  );

/** A runtime stand-in that lists the tasks a test says are running: real processes in real cgroups. */
class ListedTasks implements RunningTasks {
  tasks: RunningTask[] = [];
  async runningTasks(): Promise<readonly RunningTask[]> {
    return this.tasks;
  }
}

describe.skipIf(!cgroupV1Available())("per-container metrics from real cgroups, scraped from berthd", () => {
  const listed = new ListedTasks();
  const runtimePlugin: Plugin<RunningTasks> = { type: "io.berth.test.v1", id: "listed-tasks", init: () => listed };
  let base: string;
  let daemon: Daemon | undefined;
  let url: string;
  const cgroups: TestCgroup[] = [];
  const processes: BusyProcess[] = [];

  beforeAll(async () => {
    base = testDirectory("container-metrics");
    try {
      for (const [index, limits] of [
        { memory: 128 << 20, pids: 16 },
        { memory: 64 << 20, pids: 8 },
      ].entries()) {
        const cgroup = createCgroupV1(`container-${index}`);
        cgroups.push(cgroup);
        cgroup.write("memory", "memory.limit_in_bytes", String(limits.memory));
        cgroup.write("pids", "pids.max", String(limits.pids));
        cgroup.write("cpu", "cpu.cfs_period_us", "10000");
        cgroup.write("cpu", "cpu.cfs_quota_us", "3000");
        const busy = startBusyProcess();
        processes.push(busy);
        cgroup.add(busy.pid);
        busy.go();
      }
      await new Promise((resolve) => setTimeout(resolve, 400));
      for (const busy of processes) busy.stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
      // The first is found by its cgroups path, the second only by its pid.
      listed.tasks = [
        { namespace: "ns-one", id: "first", runtime: "io.containerd.runc.v2", pid: processes[0]!.pid, cgroupsPath: cgroups[0]!.path },
        { namespace: "ns-two", id: "second", runtime: "io.containerd.runc.v2", pid: processes[1]!.pid },
      ];
      const config = parseConfig(
        `version = 2\nroot = "${base}/root"\nstate = "${base}/state"\n[grpc]\n  address = "${base}/berthd.sock"\n[metrics]\n  address = "127.0.0.1:0"\n`,
      );
      daemon = await Daemon.start(config, [...builtinPlugins(), runtimePlugin], createLogger("warn"));
      url = `http://${daemon.metricsServer!.address}/v1/metrics`;
    } catch (error) {
      await cleanup();
      throw error;
    }
  });

  async function cleanup(): Promise<void> {
    await daemon?.stop();
    for (const busy of processes) await busy.kill();
    for (const cgroup of cgroups) await cgroup.remove();
    rmSync(base, { recursive: true, force: true });
  }
  afterAll(cleanup);

  const of = (samples: PromSample[], name: string, id: string, extra: Record<string, string> = {}) =>
    promSamples(samples, name, { container_id: id, ...extra });

  // The kernel may still move a stopped process's memory (reclaim) between the scrape and the file
  // reads; a fresh scrape then agrees, so a mismatch must repeat to fail.
  it("shows both containers' series, with values equal to their cgroup files", { retry: 2 }, async () => {
    const { samples } = await scrapeProm(url);
    for (const [index, task] of listed.tasks.entries()) {
      const cgroup = cgroups[index]!;
      const cpuacct = cgroup.directories.get("cpuacct")!;
      const memory = cgroup.directories.get("memory")!;
      const value = (name: string, extra: Record<string, string> = {}) => {
        const found = of(samples, name, task.id, extra);
        expect(found, `${name} of ${task.id}`).toHaveLength(1);
        expect(found[0]!.labels).toMatchObject({ namespace: task.namespace, ...(name === "container_memory_oom_total" ? {} : { runtime: task.runtime }) });
        return found[0]!.value;
      };
      expect(value("container_cpu_total_nanoseconds")).toBe(Number(file(cpuacct, "cpuacct.usage")));
      expect(value("container_cpu_user_nanoseconds")).toBe((keyed(cpuacct, "cpuacct.stat").get("user")! * 1e9) / 100);
      file(cpuacct, "cpuacct.usage_percpu")
        .split(" ")
        .forEach((ns, cpu) => expect(value("container_per_cpu_nanoseconds", { cpu: String(cpu) })).toBe(Number(ns)));
      const cpuStat = keyed(cgroup.directories.get("cpu")!, "cpu.stat");
      expect(value("container_cpu_throttled_periods_total")).toBe(cpuStat.get("nr_throttled"));
      expect(value("container_cpu_throttled_periods_total")).toBeGreaterThan(0);
      expect(value("container_cpu_throttle_periods_total")).toBe(cpuStat.get("nr_periods"));
      expect(value("container_cpu_throttled_time_nanoseconds")).toBe(cpuStat.get("throttled_time"));
      expect(value("container_memory_usage_usage_bytes")).toBe(Number(file(memory, "memory.usage_in_bytes")));
      expect(value("container_memory_usage_limit_bytes")).toBe(Number(file(memory, "memory.limit_in_bytes")));
      expect(value("container_memory_usage_max_bytes")).toBe(Number(file(memory, "memory.max_usage_in_bytes")));
      expect(value("container_memory_usage_failcnt_total")).toBe(Number(file(memory, "memory.failcnt")));
      expect(value("container_memory_rss_bytes")).toBe(keyed(memory, "memory.stat").get("rss"));
      expect(value("container_memory_cache_bytes")).toBe(keyed(memory, "memory.stat").get("cache"));
      expect(value("container_memory_oom_total")).toBe(keyed(memory, "memory.oom_control").get("oom_kill") ?? 0);
      expect(value("container_pids_current")).toBe(Number(file(cgroup.directories.get("pids")!, "pids.current")));
      expect(value("container_pids_limit")).toBe(Number(file(cgroup.directories.get("pids")!, "pids.max")));
    }
    expect(promSamples(samples, "berth_tasks").map((s) => [s.labels.namespace, s.value])).toEqual([
      ["ns-one", 1],
      ["ns-two", 1],
    ]);
  });

  it("drops a container's series once it is no longer running, and skips one whose cgroup is gone", async () => {
    const second = listed.tasks[1]!;
    listed.tasks = [listed.tasks[0]!, { namespace: "ns-two", id: "vanished", runtime: "io.containerd.runc.v2", pid: 1, cgroupsPath: "/berth-test-never-made" }];
    try {
      const { samples } = await scrapeProm(url);
      expect(samples.filter((s) => s.labels.container_id === "second")).toEqual([]);
      expect(samples.filter((s) => s.labels.container_id === "vanished")).toEqual([]);
      expect(of(samples, "container_cpu_total_nanoseconds", "first")).toHaveLength(1);
    } finally {
      listed.tasks = [listed.tasks[0]!, second];
    }
  });
});

/** Names and labels against what a stock containerd exports for a container it runs. */
describe.skipIf(!stockContainerdInstalled || !cgroupV1Available())("per-container metric names beside stock containerd", () => {
  let containerd: RunningDaemon | undefined;
  let stockUrl: string;
  const id = `metrics-names-${process.pid}`;
  const ctr = (...args: string[]) => runCommand(stockCtr!, ["--address", containerd!.address, ...args], { timeoutMs: 60_000 });

  beforeAll(async () => {
    const port = await freePort();
    containerd = await startStockContainerd({ metrics: { address: `127.0.0.1:${port}` } });
    stockUrl = `http://127.0.0.1:${port}/v1/metrics`;
    const archive = join(containerd!.root, "..", "busybox.tar");
    writeFileSync(archive, ociArchive(buildBusyboxImage(), "docker.io/library/busybox:test"));
    const imported = await ctr("images", "import", archive);
    if (imported.code !== 0) throw new Error(`ctr images import: ${imported.stderr}`);
    const run = await ctr("run", "-d", "--memory-limit", String(96 << 20), "docker.io/library/busybox:test", id, "sleep", "3600");
    if (run.code !== 0) throw new Error(`ctr run: ${run.stderr}`);
  });
  afterAll(async () => {
    if (containerd !== undefined) {
      await ctr("tasks", "kill", "-s", "KILL", id);
      for (let i = 0; i < 50 && (await ctr("tasks", "rm", id)).code !== 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      await ctr("containers", "rm", id);
    }
    await containerd?.cleanup();
  });

  it("exports the same series for the same container, labelled container_id, namespace and runtime", async () => {
    const pid = Number(
      (await ctr("tasks", "ls")).stdout
        .split("\n")
        .find((line) => line.startsWith(id))
        ?.split(/\s+/)[1],
    );
    const stock = (await scrapeProm(stockUrl)).samples.filter((s) => s.name.startsWith("container_") && s.labels.container_id === id);

    const metrics = new DaemonMetrics();
    const task: RunningTask = { namespace: "default", id, runtime: "io.containerd.runc.v2", pid, cgroupsPath: `/default/${id}` };
    metrics.addScrapeHook(new ContainerMetrics(metrics.registry, () => [{ runningTasks: async () => [task] }]));
    const berth = parsePromText(await metrics.scrape());

    const shape = (s: PromSample) => `${s.name}{${Object.keys(s.labels).sort().join(",")}}${s.labels.cpu ?? ""}`;
    // containerd 1.6 counts OOMs only for tasks of its v1 runtime; Berth reports memory.oom_control's count for every task.
    const berthShapes = new Set(berth.filter((s) => s.name !== "container_memory_oom_total").map(shape));
    expect(berthShapes).toEqual(new Set(stock.map(shape)));
    expect(stock.length).toBeGreaterThan(50);
    for (const s of berth) expect(s.labels).toMatchObject({ container_id: id, namespace: "default" });

    // Values that hold still while the container sleeps are equal.
    const value = (samples: PromSample[], name: string) => promSamples(samples, name)[0]?.value;
    for (const name of [
      "container_memory_usage_limit_bytes",
      "container_memory_hierarchical_memory_limit_bytes",
      "container_pids_limit",
      "container_pids_current",
      "container_memory_swap_limit_bytes",
    ]) {
      expect(value(berth, name), name).toBe(value(stock, name));
    }
    expect(value(berth, "container_memory_usage_limit_bytes")).toBe(96 << 20);
    expect(value(berth, "container_cpu_total_nanoseconds")).toBeGreaterThanOrEqual(value(stock, "container_cpu_total_nanoseconds")!);
  });
});

/** containerd 1.7's cgroup v2 task metrics (metrics/cgroups/v2: pids, cpu, memory, io), read from its source. */
const containerdV2Names = [
  "container_pids_limit",
  "container_pids_current",
  "container_cpu_usage_usec_microseconds",
  "container_cpu_user_usec_microseconds",
  "container_cpu_system_usec_microseconds",
  "container_cpu_nr_periods_total",
  "container_cpu_nr_throttled_total",
  "container_cpu_throttled_usec_microseconds",
  "container_memory_usage_bytes",
  "container_memory_usage_limit_bytes",
  "container_memory_swap_usage_bytes",
  "container_memory_swap_limit_bytes",
  ...[
    "file_mapped",
    "file_dirty",
    "file_writeback",
    "pgactivate",
    "pgdeactivate",
    "pgfault",
    "pgmajfault",
    "pglazyfree",
    "pgrefill",
    "pglazyfreed",
    "pgscan",
    "pgsteal",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "anon",
    "file",
    "kernel_stack",
    "slab",
    "sock",
    "shmem",
    "anon_thp",
    "slab_reclaimable",
    "slab_unreclaimable",
    "workingset_refault",
    "workingset_activate",
    "workingset_nodereclaim",
    "thp_fault_alloc",
    "thp_collapse_alloc",
  ].map((key) => `container_memory_${key}_bytes`),
  "container_memory_oom_total",
  "container_io_rbytes_bytes",
  "container_io_wbytes_bytes",
  "container_io_rios_total",
  "container_io_wios_total",
];

describe("per-container metrics on a cgroup v2 host", () => {
  let root: string;
  beforeAll(() => {
    root = testDirectory("container-metrics-v2");
    const directory = join(root, "default", "redis");
    mkdirSync(directory, { recursive: true });
    const files: Record<string, string> = {
      "cpu.stat": "usage_usec 5029187\nuser_usec 3512030\nsystem_usec 1517157\nnr_periods 4521\nnr_throttled 37\nthrottled_usec 1893374\n",
      "memory.current": "12820480\n",
      "memory.max": "max\n",
      "memory.stat": "anon 5406720\nfile 6082560\nkernel_stack 98304\nslab 855400\npgfault 9823\nworkingset_refault_file 11\n",
      "memory.events": "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\noom_group_kill 0\n",
      "io.stat": "254:0 rbytes=1855488 wbytes=77824 rios=93 wios=14 dbytes=0 dios=0\n",
      "pids.current": "3\n",
      "pids.max": "1024\n",
    };
    for (const [name, content] of Object.entries(files)) writeFileSync(join(directory, name), content);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("exports containerd's v2 names with the values of the cgroup's files", async () => {
    const metrics = new DaemonMetrics();
    const mounts = parseCgroupMounts(`25 1 0:22 / ${root} rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n`);
    const task: RunningTask = { namespace: "k8s.io", id: "redis", runtime: "io.containerd.runc.v2", pid: 1, cgroupsPath: "/default/redis" };
    metrics.addScrapeHook(new ContainerMetrics(metrics.registry, () => [{ runningTasks: async () => [task] }], undefined, { mounts }));
    const samples = parsePromText(await metrics.scrape());
    expect(new Set(samples.map((s) => s.name))).toEqual(new Set(containerdV2Names));
    const value = (name: string) => promSamples(samples, name, { container_id: "redis", namespace: "k8s.io", runtime: "io.containerd.runc.v2" })[0]?.value;
    expect(value("container_cpu_usage_usec_microseconds")).toBe(5029187);
    expect(value("container_cpu_nr_throttled_total")).toBe(37);
    expect(value("container_memory_usage_bytes")).toBe(12820480);
    expect(value("container_memory_usage_limit_bytes")).toBe(2 ** 64);
    expect(value("container_memory_anon_bytes")).toBe(5406720);
    expect(value("container_memory_oom_total")).toBe(2);
    expect(value("container_pids_limit")).toBe(1024);
    expect(promSamples(samples, "container_io_rbytes_bytes")).toEqual([
      {
        name: "container_io_rbytes_bytes",
        labels: { container_id: "redis", namespace: "k8s.io", runtime: "io.containerd.runc.v2", major: "254", minor: "0" },
        value: 1855488,
      },
    ]);
  });
});
