// Per-container metrics of real tasks: stock ctr runs two containers through berthd, a scrape shows
// both with the values of their cgroup files, and a deleted task's series are gone.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type PromSample,
  type RunningDaemon,
  buildBusyboxImage,
  cgroupV1Available,
  freePort,
  ociArchive,
  promSamples,
  reapRuntimeLeftovers,
  runCommand,
  scrapeProm,
  startBerthd,
  stockContainerdInstalled,
  stockCtr,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const namespace = `berth-test-metrics-${process.pid}`;
const cgroupFile = (controller: string, id: string, file: string) => readFileSync(join("/sys/fs/cgroup", controller, namespace, id, file), "utf8").trim();

describe.skipIf(!stockContainerdInstalled || !cgroupV1Available())("metrics of tasks berthd runs", () => {
  let berthd: RunningDaemon;
  let url: string;
  let base: string;
  const ctr = (...args: string[]) => runCommand(stockCtr!, ["--address", berthd.address, "-n", namespace, ...args], { timeoutMs: 60_000 });
  const image = "docker.io/library/busybox:metrics";

  beforeAll(async () => {
    const port = await freePort();
    berthd = await startBerthd({ config: `version = 2\n[metrics]\n  address = "127.0.0.1:${port}"\n`, logLevel: "info" });
    url = `http://127.0.0.1:${port}/v1/metrics`;
    base = join(berthd.root, "..");
    writeFileSync(join(base, "busybox.tar"), ociArchive(buildBusyboxImage(), image));
    const imported = await ctr("images", "import", join(base, "busybox.tar"));
    expect(imported.code, imported.stderr).toBe(0);
    for (const [id, memory] of [
      ["c1", 64 << 20],
      ["c2", 48 << 20],
    ] as const) {
      const run = await ctr("run", "-d", "--fifo-dir", join(base, "fifo"), "--memory-limit", String(memory), image, id, "sleep", "1000");
      expect(run.code, run.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    if (berthd !== undefined && berthd.process.exitCode === null) {
      for (const id of ["c1", "c2"]) {
        await ctr("tasks", "kill", "-s", "SIGKILL", id);
        for (let i = 0; i < 50 && (await ctr("tasks", "rm", "-f", id)).code !== 0 && (await ctr("tasks", "ls", "-q")).stdout.includes(id); i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await ctr("containers", "rm", id);
      }
    }
    await berthd?.stop();
    if (base !== undefined) await reapRuntimeLeftovers({ directory: base, runcRoots: [join(berthd.state, "runc")], cgroups: [`/${namespace}`] });
    await berthd?.cleanup();
  });

  const series = (samples: PromSample[], id: string) => samples.filter((s) => s.labels.container_id === id);

  it("shows both containers' series, with values equal to their cgroup files", async () => {
    const { samples } = await scrapeProm(url);
    for (const [id, memory] of [
      ["c1", 64 << 20],
      ["c2", 48 << 20],
    ] as const) {
      const value = (name: string) => {
        const found = promSamples(samples, name, { container_id: id, namespace, runtime: "io.containerd.runc.v2" });
        expect(found, `${name} of ${id}`).toHaveLength(1);
        return found[0]!.value;
      };
      expect(series(samples, id).length).toBeGreaterThan(50);
      expect(value("container_memory_usage_limit_bytes")).toBe(memory);
      expect(value("container_memory_usage_limit_bytes")).toBe(Number(cgroupFile("memory", id, "memory.limit_in_bytes")));
      expect(value("container_memory_usage_max_bytes")).toBe(Number(cgroupFile("memory", id, "memory.max_usage_in_bytes")));
      expect(value("container_pids_current")).toBe(Number(cgroupFile("pids", id, "pids.current")));
      expect(value("container_pids_current")).toBe(1);
      // A sleeping process uses no CPU between the scrape and this read.
      expect(value("container_cpu_total_nanoseconds")).toBe(Number(cgroupFile("cpuacct", id, "cpuacct.usage")));
      expect(value("container_cpu_total_nanoseconds")).toBeGreaterThan(0);
    }
    expect(promSamples(samples, "berth_tasks", { namespace })[0]?.value).toBe(2);
    expect(promSamples(samples, "berth_containers", { namespace })[0]?.value).toBe(2);
  });

  it("drops the series of a deleted task and keeps the other's", async () => {
    expect((await ctr("tasks", "kill", "-s", "SIGKILL", "c2")).code).toBe(0);
    for (let i = 0; i < 100 && !(await ctr("tasks", "ls")).stdout.match(/^c2\s+\d+\s+STOPPED/m); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await ctr("tasks", "rm", "c2")).code).toBe(0);
    const { samples } = await scrapeProm(url);
    expect(series(samples, "c2")).toEqual([]);
    expect(promSamples(samples, "container_pids_current", { container_id: "c1" })).toHaveLength(1);
    expect(promSamples(samples, "berth_tasks", { namespace })[0]?.value).toBe(1);
    expect((await ctr("containers", "rm", "c2")).code).toBe(0);
  });
});
