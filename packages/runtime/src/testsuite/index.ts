import { kindOfFailure } from "@berth/api";
import { closeSync, constants, openSync, readFileSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeFifo } from "./fifo.js";
import {
  type RuntimeFixture,
  context,
  createTask,
  exitOf,
  io,
  leftovers,
  outputFile,
  processAny,
  resourcesAny,
  readOutput,
  removeAllTasks,
  rootfsMounts,
  specAny,
  uniqueId,
  until,
} from "./harness.js";

export type { RuntimeFixture } from "./harness.js";

const execProcess = (args: readonly string[]) => ({ args, cwd: "/", env: ["PATH=/bin"], user: { uid: 0, gid: 0 } });

/**
 * The contract of a `Runtime` (see @berth/api), run against every implementation: real tasks in a
 * busybox rootfs. It checks error kinds, never message text, and that a task gone leaves nothing.
 */
export function describeRuntimeConformance(name: string, create: () => Promise<RuntimeFixture>): void {
  describe(`runtime conformance: ${name}`, () => {
    let fixture: RuntimeFixture;
    beforeAll(async () => {
      fixture = await create();
    });
    afterEach(async () => {
      await removeAllTasks(fixture.runtime);
    });
    afterAll(async () => {
      await removeAllTasks(fixture.runtime);
      await fixture.cleanup();
    });

    it("creates a task (CREATED), starts it, reports its exit code and output, and deletes it leaving nothing", async () => {
      const id = uniqueId("lifecycle");
      const stdout = outputFile(fixture, id);
      const task = await createTask(fixture, id, ["sh", "-c", "echo hello from $(cat /proc/1/comm); exit 7"], io(stdout));
      expect(task.id).toBe(id);
      expect(task.pid).toBeGreaterThan(0);
      expect(await task.state(context)).toMatchObject({ id, status: "created", pid: task.pid, stdout });
      expect((await fixture.runtime.tasks(context)).map((t) => t.id)).toContain(id);
      // ctr waits before it starts.
      const exited = exitOf(task);
      expect(await task.start(context)).toBe(task.pid);
      expect((await exited).status).toBe(7);
      expect(await task.state(context)).toMatchObject({ status: "stopped", exitStatus: 7 });
      expect(readOutput(stdout)).toBe("hello from sh\n");
      expect(await fixture.runtime.delete(context, id)).toMatchObject({ pid: task.pid, status: 7 });
      expect(await kindOfFailure(() => fixture.runtime.get(context, id))).toBe("NotFound");
      expect(leftovers(fixture, id)).toEqual([]);
    });

    it("kills with a signal: exit 128+signal; killing a finished process is NotFound", async () => {
      const id = uniqueId("kill");
      const task = await createTask(fixture, id, ["sleep", "1000"]);
      await task.start(context);
      expect((await task.state(context)).status).toBe("running");
      expect(await kindOfFailure(() => fixture.runtime.delete(context, id))).toBe("FailedPrecondition");
      await task.kill(context, 9);
      expect((await exitOf(task)).status).toBe(137);
      expect(await kindOfFailure(() => task.kill(context, 9))).toBe("NotFound");
      expect((await fixture.runtime.delete(context, id)).status).toBe(137);
    });

    it("kill with all signals every process of the container", async () => {
      const id = uniqueId("killall");
      const task = await createTask(fixture, id, ["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
      await task.start(context);
      await until(async () => ((await task.pids(context)).length >= 3 ? true : undefined), "three processes");
      // SIGKILL: a shell as pid 1 of its namespace ignores signals it has no handler for.
      await task.kill(context, 9, true);
      expect((await exitOf(task)).status).toBe(137);
      expect(await kindOfFailure(() => task.kill(context, 9))).toBe("NotFound");
    });

    it("a CREATED task can be deleted without starting it", async () => {
      const id = uniqueId("created");
      await createTask(fixture, id, ["true"]);
      await fixture.runtime.delete(context, id);
      expect(leftovers(fixture, id)).toEqual([]);
    });

    it("pauses and resumes; lists its processes; reports cgroup stats; updates resources", async () => {
      const id = uniqueId("pause");
      const task = await createTask(fixture, id, ["sleep", "1000"]);
      await task.start(context);
      await task.pause(context);
      expect((await task.state(context)).status).toBe("paused");
      await task.resume(context);
      expect((await task.state(context)).status).toBe("running");
      expect((await task.pids(context)).map((p) => p.pid)).toContain(task.pid);
      const stats = await task.stats(context);
      expect(stats.typeUrl).toMatch(/^io\.containerd\.cgroups\.v[12]\.Metrics$/);
      expect(stats.value.length).toBeGreaterThan(0);
      await task.update(context, resourcesAny({ pids: { limit: 100 } }), {});
    });

    it("runs exec processes: output, exit code, pids; duplicate ids AlreadyExists, bad ids InvalidArgument, unknown NotFound", async () => {
      const id = uniqueId("exec");
      const task = await createTask(fixture, id, ["sleep", "1000"]);
      expect(await kindOfFailure(() => task.exec(context, "early", { spec: processAny(execProcess(["true"])), io: io() }))).toBe("FailedPrecondition");
      await task.start(context);
      const stdout = outputFile(fixture, `${id}-e1`);
      const exec = await task.exec(context, "e1", { spec: processAny(execProcess(["sh", "-c", "ls /; exit 3"])), io: io(stdout) });
      expect(exec.id).toBe("e1");
      expect((await exec.state(context)).status).toBe("created");
      expect(await kindOfFailure(() => task.exec(context, "e1", { spec: processAny(execProcess(["true"])), io: io() }))).toBe("AlreadyExists");
      expect(await kindOfFailure(() => task.exec(context, "bad id!", { spec: processAny(execProcess(["true"])), io: io() }))).toBe("InvalidArgument");
      const exited = exitOf(exec);
      const pid = await exec.start(context);
      expect(pid).toBeGreaterThan(0);
      expect((await exited).status).toBe(3);
      expect(readOutput(stdout).split("\n")).toEqual(expect.arrayContaining(["bin", "proc"]));
      expect((await exec.delete(context)).status).toBe(3);
      expect(await kindOfFailure(() => task.process(context, "e1"))).toBe("NotFound");

      const sleeper = await task.exec(context, "e2", { spec: processAny(execProcess(["sleep", "1000"])), io: io() });
      const sleeperPid = await sleeper.start(context);
      expect((await task.pids(context)).map((p) => p.pid)).toEqual(expect.arrayContaining([task.pid, sleeperPid]));
      expect(await kindOfFailure(() => sleeper.delete(context))).toBe("FailedPrecondition");
      expect((await task.process(context, "e2")).id).toBe("e2");
      await sleeper.kill(context, 9);
      expect((await exitOf(sleeper)).status).toBe(137);
    });

    it("closes stdin on closeIO, so that a reader sees EOF", async () => {
      const id = uniqueId("stdin");
      const stdinPath = join(fixture.scratch, `${id}.stdin`);
      makeFifo(stdinPath);
      // Held read-write while the task is created, so that no open blocks; then written as ctr
      // writes it, through a write-only end that is closed before closeIO.
      const holder = openSync(stdinPath, constants.O_RDWR | constants.O_NONBLOCK);
      let writer: Socket | undefined;
      try {
        const stdout = outputFile(fixture, id);
        const task = await createTask(fixture, id, ["cat"], io(stdout, stdinPath));
        expect((await task.state(context)).stdin).toBe(stdinPath);
        await task.start(context);
        writer = new Socket({ fd: openSync(stdinPath, constants.O_WRONLY | constants.O_NONBLOCK), readable: false, writable: true });
        closeSync(holder);
        await new Promise<void>((resolve) => writer!.end("through stdin\n", resolve));
        await until(() => (readOutput(stdout) === "through stdin\n" ? true : undefined), "stdin copied to stdout");
        expect((await task.state(context)).status).toBe("running");
        await task.closeIO(context);
        expect((await exitOf(task)).status).toBe(0);
      } finally {
        writer?.destroy();
        try {
          closeSync(holder);
        } catch {
          // already closed
        }
      }
    });

    it("refuses bad input with containerd's error kinds and leaves nothing behind", async () => {
      const id = uniqueId("bad");
      const spec = specAny(fixture.spec(id, ["true"]));
      const base = { spec, rootfs: rootfsMounts(fixture), io: io(), runtime: fixture.runtimeName };
      expect(await kindOfFailure(() => fixture.runtime.create({}, id, base))).toBe("FailedPrecondition");
      expect(await kindOfFailure(() => fixture.runtime.create(context, "bad/id", base))).toBe("InvalidArgument");
      expect(
        await kindOfFailure(() => fixture.runtime.create(context, id, { ...base, spec: { typeUrl: spec.typeUrl, value: Buffer.from("{not json") } })),
      ).toBe("InvalidArgument");
      const badMapping = { ...fixture.spec(id, ["true"]), linux: { gidMappings: [{ containerID: 0, hostID: -1, size: 1 }] } };
      expect(await kindOfFailure(() => fixture.runtime.create(context, id, { ...base, spec: specAny(badMapping) }))).toBe("InvalidArgument");
      expect(await kindOfFailure(() => fixture.runtime.create(context, id, { ...base, runtime: "io.containerd.nosuch.v9" }))).toBe("NotFound");
      expect(await kindOfFailure(() => fixture.runtime.create(context, id, { ...base, runtime: "nodots" }))).toBe("InvalidArgument");
      expect(await kindOfFailure(() => fixture.runtime.get(context, id))).toBe("NotFound");
      expect(await kindOfFailure(() => fixture.runtime.delete(context, id))).toBe("NotFound");
      expect(leftovers(fixture, id)).toEqual([]);
      // runc itself refuses this one (no such binary in the rootfs): the shim, mounts and bundle go.
      expect(await kindOfFailure(() => createTask(fixture, id, ["/no/such/binary"]))).not.toBe("none");
      expect(await kindOfFailure(() => fixture.runtime.get(context, id))).toBe("NotFound");
      expect(leftovers(fixture, id)).toEqual([]);
      // An id in use.
      await createTask(fixture, id, ["true"]);
      expect(await kindOfFailure(() => createTask(fixture, id, ["true"]))).toBe("AlreadyExists");
    });

    it("keeps namespaces apart", async () => {
      const id = uniqueId("ns");
      await createTask(fixture, id, ["true"]);
      const other = { namespace: "conformance-other" };
      expect(await kindOfFailure(() => fixture.runtime.get(other, id))).toBe("NotFound");
      expect(await fixture.runtime.tasks(other)).toEqual([]);
      expect((await fixture.runtime.tasks({}, true)).map((t) => t.id)).toContain(id);
    });

    it("after a daemon restart finds its tasks again with their true state, including exits that happened meanwhile", async (testContext) => {
      if (fixture.restart === undefined) return testContext.skip();
      const running = await createTask(fixture, uniqueId("survivor"), ["sleep", "1000"]);
      const victim = await createTask(fixture, uniqueId("victim"), ["sleep", "1000"]);
      await running.start(context);
      await victim.start(context);
      const restarted = fixture.restart();
      // While no daemon holds it, one task's process is killed.
      process.kill(victim.pid, "SIGKILL");
      const runtime = await restarted;
      Object.assign(fixture, { runtime });
      const found = await runtime.get(context, running.id);
      expect(await found.state(context)).toMatchObject({ status: "running", pid: running.pid });
      expect(found.pid).toBe(running.pid);
      const gone = await runtime.get(context, victim.id);
      const state = await until(async () => {
        const s = await gone.state(context);
        return s.status === "stopped" ? s : undefined;
      }, "victim stopped");
      expect(state.exitStatus).toBe(137);
      expect((await exitOf(gone)).status).toBe(137);
      expect((await runtime.delete(context, victim.id)).status).toBe(137);
      await found.kill(context, 9);
      expect((await runtime.delete(context, running.id).catch(async () => (await exitOf(found), runtime.delete(context, running.id)))).status).toBe(137);
    });

    it("a task whose shim dies is cleaned up: exit and delete published, nothing left", async (testContext) => {
      if (fixture.published === undefined) return testContext.skip();
      const id = uniqueId("orphan");
      const task = await createTask(fixture, id, ["sleep", "1000"]);
      await task.start(context);
      process.kill(shimPidOf(task), "SIGKILL");
      await until(async () => ((await kindOfFailure(() => fixture.runtime.get(context, id))) === "NotFound" ? true : undefined), "task forgotten");
      const topics = () =>
        fixture.published!()
          .filter((event) => event.namespace === context.namespace)
          .map((event) => event.topic);
      await until(() => (topics().at(-1) === "/tasks/delete" ? true : undefined), "the delete event");
      expect(topics().slice(-2)).toEqual(["/tasks/exit", "/tasks/delete"]);
      expect(leftovers(fixture, id)).toEqual([]);
    });
  });
}

/** The pid of the process serving a task: the parent of its init process. */
function shimPidOf(task: { pid: number }): number {
  const parent = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${task.pid}/status`, "utf8"))?.[1];
  if (parent === undefined) throw new Error(`no parent for ${task.pid}`);
  return Number(parent);
}
