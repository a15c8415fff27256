// Debian's stock ctr runs real containers through berthd's Tasks service (runc through the shim
// configured for io.containerd.runc.v2), and finds them again after berthd is killed with -9.
import type { ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  pushTestImage,
  reapRuntimeLeftovers,
  runCommand,
  spawnTracked,
  startBerthd,
  startRegistry,
  stockContainerdInstalled,
  stockCtr,
  stopProcess,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const namespace = `berth-test-tasks-${process.pid}`;

// berthd's default shim (Berth's own) and Debian's stock shim when configured.
const shims = [
  { shim: "Berth's shim", config: undefined },
  { shim: "the stock shim", config: `version = 2\n[plugins."io.containerd.runtime.v2.task".shims]\n"io.containerd.runc.v2" = "containerd-shim-runc-v2"\n` },
];

describe.skipIf(!stockContainerdInstalled).each(shims)("stock ctr runs tasks through berthd with $shim", ({ config }) => {
  let registry: RunningRegistry;
  let berthd: RunningDaemon;
  let image: string;
  let fifoDir: string;
  let base: string;

  const ctr = (...args: string[]) => runCommand(stockCtr!, ["--address", berthd.address, "-n", namespace, ...args], { timeoutMs: 60_000 });
  const bundles = () => {
    const directory = join(berthd.state, "io.containerd.runtime.v2.task", namespace);
    return existsSync(directory) ? readdirSync(directory) : [];
  };
  /** `ctr tasks ls` as {id: status}. */
  const taskStatuses = async () => {
    const listed = await ctr("tasks", "ls");
    expect(listed.code, listed.stderr).toBe(0);
    return Object.fromEntries(
      listed.stdout
        .trim()
        .split("\n")
        .slice(1)
        .filter(Boolean)
        .map((line) => {
          const [id, , status] = line.split(/\s+/);
          return [id, status];
        }),
    );
  };
  const pidOf = async (id: string) => {
    const listed = await ctr("tasks", "ls");
    return Number(
      listed.stdout
        .split("\n")
        .find((line) => line.startsWith(`${id} `))!
        .split(/\s+/)[1],
    );
  };
  /** ctr 1.6's `tasks rm` reports a non-zero exit as a warning and itself exits 0. */
  const expectRemovedWith137 = async (id: string) => {
    const removed = await ctr("tasks", "rm", id);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stderr).toContain(`task ${id} exit with non-zero exit code 137`);
  };
  const until = async (what: string, probe: () => Promise<boolean>) => {
    const deadline = Date.now() + 15_000;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
    image = `${registry.host}/library/busybox:latest`;
    berthd = await startBerthd(config === undefined ? {} : { config });
    base = join(berthd.root, "..");
    fifoDir = join(base, "fifo");
    const pulled = await ctr("images", "pull", "--plain-http", image);
    expect(pulled.code, pulled.stderr).toBe(0);
  });

  afterAll(async () => {
    if (berthd !== undefined && berthd.process.exitCode === null) {
      for (const id of Object.keys(await taskStatuses().catch(() => ({})))) {
        await ctr("tasks", "kill", "-s", "SIGKILL", id);
        await ctr("tasks", "rm", "-f", id);
      }
    }
    await berthd?.stop();
    if (base !== undefined) await reapRuntimeLeftovers({ directory: base, runcRoots: [join(berthd.state, "runc")], cgroups: [`/${namespace}`] });
    await berthd?.cleanup();
    await registry?.stop();
  });

  it("ctr run --rm prints the output, exits 0, and leaves no task, bundle or container; events come in containerd's order", async () => {
    const events = spawnTracked(stockCtr!, ["--address", berthd.address, "events", `namespace==${namespace},topic~=/tasks/.+`]);
    let seen = "";
    events.stdout!.on("data", (chunk: Buffer) => (seen += chunk));
    await new Promise((resolve) => setTimeout(resolve, 500));
    try {
      const run = await ctr("run", "--rm", "--fifo-dir", fifoDir, image, "c1", "echo", "hello");
      expect(run).toMatchObject({ code: 0, stdout: "hello\n" });
      expect((await ctr("containers", "ls", "-q")).stdout).toBe("");
      expect(await taskStatuses()).toEqual({});
      expect(bundles()).toEqual([]);
      await until("the delete event", async () => seen.includes("/tasks/delete"));
      const topics = seen
        .trim()
        .split("\n")
        .map((line) => line.split(" ")[5]);
      expect(topics).toEqual(["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"]);
    } finally {
      await stopProcess(events as ChildProcess);
    }
  });

  it("run -d, ls, pause, resume, exec, metrics, ps, kill, rm with 137, containers rm", async () => {
    const run = await ctr("run", "-d", "--fifo-dir", fifoDir, image, "c2", "sleep", "1000");
    expect(run.code, run.stderr).toBe(0);
    expect((await taskStatuses()).c2).toBe("RUNNING");
    expect((await ctr("tasks", "pause", "c2")).code).toBe(0);
    expect((await taskStatuses()).c2).toBe("PAUSED");
    expect((await ctr("tasks", "resume", "c2")).code).toBe(0);
    expect((await taskStatuses()).c2).toBe("RUNNING");

    const exec = await ctr("tasks", "exec", "--fifo-dir", fifoDir, "--exec-id", "e1", "c2", "ls", "/");
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout.split("\n")).toEqual(expect.arrayContaining(["bin", "etc", "proc"]));

    const metrics = await ctr("tasks", "metrics", "c2");
    expect(metrics.code, metrics.stderr).toBe(0);
    expect(metrics.stdout).toMatch(/^ID\s+TIMESTAMP\s*\nc2\s+\S+/);
    expect(metrics.stdout).toMatch(/memory\.usage_in_bytes\s+[1-9]\d*|memory\.usage\s+[1-9]\d*/);

    const pid = await pidOf("c2");
    const ps = await ctr("tasks", "ps", "c2");
    expect(ps.stdout).toMatch(new RegExp(`^${pid}\\s`, "m"));

    expect((await ctr("tasks", "kill", "-s", "SIGKILL", "c2")).code).toBe(0);
    await until("c2 stopped", async () => (await taskStatuses()).c2 === "STOPPED");
    await expectRemovedWith137("c2");
    expect(await taskStatuses()).toEqual({});
    expect((await ctr("containers", "rm", "c2")).code).toBe(0);
    expect(bundles()).toEqual([]);
  });

  it("after kill -9 of berthd, both tasks still run; one killed meanwhile reports its exit", async () => {
    for (const id of ["c3", "c4"]) {
      const run = await ctr("run", "-d", "--fifo-dir", fifoDir, image, id, "sleep", "1000");
      expect(run.code, run.stderr).toBe(0);
    }
    const [pid3, pid4] = [await pidOf("c3"), await pidOf("c4")];
    await berthd.kill();
    // Containers outlive the daemon.
    expect(() => process.kill(pid3, 0)).not.toThrow();
    process.kill(pid4, "SIGKILL");
    berthd = await startBerthd({ reuse: berthd, ...(config === undefined ? {} : { config }) });
    await until("c4's exit", async () => (await taskStatuses()).c4 === "STOPPED");
    expect(await taskStatuses()).toEqual({ c3: "RUNNING", c4: "STOPPED" });
    expect(await pidOf("c3")).toBe(pid3);
    await expectRemovedWith137("c4");
    await ctr("tasks", "kill", "-s", "SIGKILL", "c3");
    await until("c3 stopped", async () => (await taskStatuses()).c3 === "STOPPED");
    await expectRemovedWith137("c3");
    for (const id of ["c3", "c4"]) expect((await ctr("containers", "rm", id)).code).toBe(0);
    expect(bundles()).toEqual([]);
  });
});
