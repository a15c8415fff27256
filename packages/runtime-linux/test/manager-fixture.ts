// A RuntimeFixture for the conformance suite: the shim manager on its own state, root and sockets,
// with a given shim binary serving io.containerd.runc.v2, and an events ttrpc server like berthd's.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type CallContext, type Publisher, type RuntimeTask, packJson } from "@berth/api";
import { eventsTtrpcV1 } from "@berth/api/proto";
import { ShimManager, type ShimManagerOptions } from "@berth/runtime-linux";
import type { RuntimeFixture } from "@berth/runtime-linux/testsuite";
import { reapRuntimeLeftovers, shimsOf, testDirectory, testRuntimeSpec, writeBusyboxRootfs } from "@berth/testkit";
import { TtrpcServer } from "@berth/ttrpc";

export const stockShim = "/usr/bin/containerd-shim-runc-v2";

export async function managerFixture(
  label: string,
  shimBinary: string,
  extra: Pick<ShimManagerOptions, "logger" | "debug"> = {},
): Promise<RuntimeFixture & { options: ShimManagerOptions }> {
  const directory = testDirectory(label);
  const cgroupParent = `/berth-test-${label}-${process.pid}`;
  const address = join(directory, "berthd.sock");
  const events: { topic: string; namespace: string }[] = [];
  const server = new TtrpcServer();
  server.register(eventsTtrpcV1.EventsDefinition, {
    forward: async ({ envelope }) => {
      if (envelope !== undefined) events.push({ topic: envelope.topic, namespace: envelope.namespace });
      return {};
    },
  });
  await server.listen({ path: `${address}.ttrpc` });
  const publisher: Publisher = {
    publish: async (context, topic) => void events.push({ topic, namespace: context.namespace ?? "" }),
  };
  const rootfs = join(directory, "rootfs");
  writeBusyboxRootfs(rootfs);
  const options: ShimManagerOptions = {
    state: join(directory, "state", "io.containerd.runtime.v2.task"),
    root: join(directory, "root", "io.containerd.runtime.v2.task"),
    address,
    ttrpcAddress: `${address}.ttrpc`,
    runtimes: { "io.containerd.runc.v2": shimBinary },
    runcRoot: join(directory, "state", "runc"),
    publisher,
    ...extra,
  };
  let manager = await ShimManager.open(options);
  return {
    options,
    get runtime() {
      return manager;
    },
    set runtime(runtime) {
      manager = runtime as ShimManager;
    },
    runtimeName: "io.containerd.runc.v2",
    rootfs,
    scratch: directory,
    stateDirectories: [options.state, options.root, options.runcRoot],
    spec: (id, args) => testRuntimeSpec({ args, cgroupsPath: `${cgroupParent}/${id}` }),
    published: () => events,
    async restart() {
      manager.close();
      manager = await ShimManager.open(options);
      return manager;
    },
    async cleanup() {
      manager.close();
      // Berth's shim serves from / (not from a bundle): found by the daemon address it serves.
      for (const pid of shimsOf(address)) process.kill(pid, "SIGKILL");
      await reapRuntimeLeftovers({ directory, runcRoots: [options.runcRoot], cgroups: [cgroupParent] });
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

type ManagerFixture = Awaited<ReturnType<typeof managerFixture>>;

/** Creates (not starts) a task running `sleep 1000` with no stdio, on the fixture's busybox rootfs. */
export function createSleeper(fixture: ManagerFixture, context: CallContext, id: string): Promise<RuntimeTask> {
  const spec = packJson("types.containerd.io/opencontainers/runtime-spec/1/Spec", fixture.spec(id, ["sleep", "1000"]));
  return fixture.runtime.create(context, id, {
    spec,
    rootfs: [{ type: "bind", source: fixture.rootfs, options: ["rbind", "rw"] }],
    io: { stdin: "", stdout: "", stderr: "", terminal: false },
    runtime: fixture.runtimeName,
  });
}

/** Kills the task (if it still runs), waits for its exit and deletes it. */
export async function removeTask(fixture: ManagerFixture, context: CallContext, id: string): Promise<void> {
  const task = await fixture.runtime.get(context, id);
  await task.kill(context, 9, false).catch(() => undefined);
  await task.wait(context);
  await fixture.runtime.delete(context, id);
}
