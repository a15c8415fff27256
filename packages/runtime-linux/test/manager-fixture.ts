// A RuntimeFixture for the conformance suite: the shim manager on its own state, root and sockets,
// with a given shim binary serving io.containerd.runc.v2, and an events ttrpc server like berthd's.
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Publisher } from "@berth/api";
import { eventsTtrpcV1 } from "@berth/api/proto";
import { ShimManager, type ShimManagerOptions } from "@berth/runtime-linux";
import type { RuntimeFixture } from "@berth/runtime-linux/testsuite";
import { reapRuntimeLeftovers, testDirectory, testRuntimeSpec, writeBusyboxRootfs } from "@berth/testkit";
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
      await reapRuntimeLeftovers({ directory, runcRoots: [options.runcRoot], cgroups: [cgroupParent] });
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
