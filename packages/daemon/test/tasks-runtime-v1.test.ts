// Debian's stock ctr runs containers with the runtime v1 (`--runtime io.containerd.runtime.v1.linux`)
// through berthd: Debian's stock containerd-shim, started and driven as containerd 1.6 does, its exits
// published back through `berthd publish`; the tasks survive a kill -9 of berthd.
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  type CtrSession,
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  ctrSession,
  disposeTaskDaemon,
  pushTestImage,
  spawnTracked,
  startBerthd,
  startRegistry,
  stockContainerdInstalled,
  stockCtr,
  stopProcess,
  waitUntil,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const namespace = `berth-test-v1-${process.pid}`;
const runtime = ["--runtime", "io.containerd.runtime.v1.linux"];
const stockShimV1 = "/usr/bin/containerd-shim";

describe.skipIf(!stockContainerdInstalled || !existsSync(stockShimV1))("stock ctr runs tasks with the runtime v1 through berthd", () => {
  let registry: RunningRegistry;
  let berthd: RunningDaemon;
  let session: CtrSession;
  let image: string;

  const ctr = (...args: string[]) => session.ctr(...args);
  const run = (...args: string[]) => ctr("run", "--fifo-dir", session.fifoDir, ...runtime, ...args);
  const bundles = () => {
    const directory = join(berthd.state, "io.containerd.runtime.v1.linux", namespace);
    return existsSync(directory) ? readdirSync(directory) : [];
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

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
    image = `${registry.host}/library/busybox:latest`;
    berthd = await startBerthd();
    session = ctrSession(berthd, namespace);
    const pulled = await ctr("images", "pull", "--plain-http", image);
    expect(pulled.code, pulled.stderr).toBe(0);
  });

  afterAll(async () => {
    if (berthd !== undefined && berthd.process.exitCode === null) await session.removeAll().catch(() => undefined);
    if (berthd !== undefined) await disposeTaskDaemon(berthd, [namespace]);
    await registry?.stop();
  });

  it("lists containerd's plugin io.containerd.runtime.v1 linux", async () => {
    const plugins = await ctr("plugins", "ls");
    expect(plugins.stdout).toMatch(/^io\.containerd\.runtime\.v1\s+linux\s+linux\/\w+\s+ok\s*$/m);
  });

  it("ctr run --rm prints the output and exits 0; the events are containerd's, in its order; nothing is left", async () => {
    const events = spawnTracked(stockCtr!, ["--address", berthd.address, "events", `namespace==${namespace},topic~=/tasks/.+`]);
    let seen = "";
    events.stdout!.on("data", (chunk: Buffer) => (seen += chunk));
    await new Promise((resolve) => setTimeout(resolve, 500));
    try {
      const ran = await run("--rm", image, "c1", "echo", "hello");
      expect(ran).toMatchObject({ code: 0, stdout: "hello\n" });
      expect((await ctr("containers", "ls", "-q")).stdout).toBe("");
      expect(await session.taskStatuses()).toEqual({});
      expect(bundles()).toEqual([]);
      await waitUntil("the delete event", async () => seen.includes("/tasks/delete"));
      const lines = seen.trim().split("\n");
      expect(lines.map((line) => line.split(" ")[5])).toEqual(["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"]);
      // The shim's exit, published through `berthd publish`, names the process and the container.
      expect(JSON.parse(lines[2]!.split(" ").slice(6).join(" "))).toMatchObject({ container_id: "c1", id: "c1" });
      // The delete, published by berthd, carries what containerd's does and nothing else.
      expect(JSON.parse(lines[3]!.split(" ").slice(6).join(" "))).toEqual({ container_id: "c1", pid: expect.any(Number), exited_at: expect.any(String) });
      expect(JSON.parse(lines[0]!.split(" ").slice(6).join(" "))).toMatchObject({
        container_id: "c1",
        bundle: join(berthd.state, "io.containerd.runtime.v1.linux", namespace, "c1"),
      });
    } finally {
      await stopProcess(events as ChildProcess);
    }
  });

  it("run -d, tasks ls, exec, ps, pause, resume, metrics, kill, rm with 137", async () => {
    const started = await run("-d", image, "c2", "sleep", "1000");
    expect(started.code, started.stderr).toBe(0);
    expect(await session.taskStatuses()).toEqual({ c2: "RUNNING" });
    const exec = await ctr("tasks", "exec", "--fifo-dir", session.fifoDir, "--exec-id", "e1", "c2", "sh", "-c", "echo from exec; exit 3");
    expect(exec).toMatchObject({ code: 3, stdout: "from exec\n" });
    const pid = await pidOf("c2");
    expect((await ctr("tasks", "ps", "c2")).stdout).toMatch(new RegExp(`^${pid}\\s`, "m"));
    expect((await ctr("tasks", "pause", "c2")).code).toBe(0);
    expect((await session.taskStatuses()).c2).toBe("PAUSED");
    expect((await ctr("tasks", "resume", "c2")).code).toBe(0);
    const metrics = await ctr("tasks", "metrics", "c2");
    expect(metrics.code, metrics.stderr).toBe(0);
    expect(metrics.stdout).toMatch(/memory\.usage_in_bytes\s+[1-9]\d*|memory\.usage\s+[1-9]\d*/);
    expect((await ctr("tasks", "kill", "-s", "SIGKILL", "c2")).code).toBe(0);
    await waitUntil("c2 stopped", async () => (await session.taskStatuses()).c2 === "STOPPED");
    await expectRemovedWith137("c2");
    expect((await ctr("containers", "rm", "c2")).code).toBe(0);
    expect(bundles()).toEqual([]);
  });

  it("after kill -9 of berthd the task still runs and is found again; one whose shim died meanwhile is cleaned up", async () => {
    for (const id of ["c3", "c4"]) {
      const started = await run("-d", image, id, "sleep", "1000");
      expect(started.code, started.stderr).toBe(0);
    }
    const pid3 = await pidOf("c3");
    const shim4 = shimPid("c4");
    await berthd.kill();
    expect(() => process.kill(pid3, 0)).not.toThrow();
    process.kill(shim4, "SIGKILL");
    berthd = await startBerthd({ reuse: berthd });
    expect(await session.taskStatuses()).toEqual({ c3: "RUNNING" });
    expect(await pidOf("c3")).toBe(pid3);
    expect(bundles()).toEqual(["c3"]);
    const exec = await ctr("tasks", "exec", "--fifo-dir", session.fifoDir, "--exec-id", "e2", "c3", "echo", "still here");
    expect(exec).toMatchObject({ code: 0, stdout: "still here\n" });
    await ctr("tasks", "kill", "-s", "SIGKILL", "c3");
    await waitUntil("c3 stopped", async () => (await session.taskStatuses()).c3 === "STOPPED");
    await expectRemovedWith137("c3");
    for (const id of ["c3", "c4"]) expect((await ctr("containers", "rm", id)).code).toBe(0);
    expect(bundles()).toEqual([]);
  });

  /** The shim's pid, which berthd writes into the bundle as containerd does. */
  function shimPid(id: string): number {
    return Number(readFileSync(join(berthd.state, "io.containerd.runtime.v1.linux", namespace, id, "shim.pid"), "utf8"));
  }
});
