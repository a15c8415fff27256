// A RuntimeFixture for the runtime conformance suite over the shared shim v2 core: the manager on
// its own state, root and sockets, a given shim binary serving io.containerd.runc.v2, an events
// ttrpc server like berthd's, and a platform seam (Linux's, or Windows' with pipes mapped to sockets).
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Publisher } from "@berth/api";
import { eventsTtrpcV1 } from "@berth/api/proto";
import { type RuntimeLogger, ShimManager, type ShimManagerOptions, type ShimPlatform } from "@berth/runtime";
import type { RuntimeFixture } from "@berth/runtime/testsuite";
import { TtrpcServer } from "@berth/ttrpc";
import { testDirectory } from "./daemons.js";
import { reapRuntimeLeftovers, shimsOf, testRuntimeSpec, writeBusyboxRootfs } from "./runtime.js";

/** What differs between the fixtures: the shim, the seam, logging. `directory` is the fixture's own. */
export interface ShimManagerSetup {
  readonly shimBinary: string;
  readonly platform: ShimPlatform;
  readonly logger?: RuntimeLogger;
  readonly debug?: boolean;
}

export interface ShimManagerFixture extends RuntimeFixture {
  runtime: ShimManager;
  readonly options: ShimManagerOptions;
  /** The daemon's gRPC address the shims were given (what `shimsOf` finds them by). */
  readonly address: string;
}

export async function shimManagerFixture(label: string, setup: (directory: string) => ShimManagerSetup): Promise<ShimManagerFixture> {
  const directory = testDirectory(label);
  const { shimBinary, ...seam } = setup(directory);
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
    ...seam,
  };
  let manager = await ShimManager.open(options);
  return {
    options,
    address,
    get runtime() {
      return manager;
    },
    set runtime(runtime) {
      manager = runtime;
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
