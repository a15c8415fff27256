// The runtime conformance suite through the runtime v1 (io.containerd.runtime.v1.linux): Debian's
// stock containerd-shim, started and driven as containerd 1.6 does.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Publisher } from "@berth/api";
import { LinuxRuntime, type LinuxRuntimeOptions, linuxRuntimeName } from "@berth/runtime-linux";
import { type RuntimeFixture, describeRuntimeConformance } from "@berth/runtime-linux/testsuite";
import { reapRuntimeLeftovers, testDirectory, testRuntimeSpec, writeBusyboxRootfs } from "@berth/testkit";
import { describe } from "vitest";

const stockShimV1 = "/usr/bin/containerd-shim";

async function linuxRuntimeFixture(label: string): Promise<RuntimeFixture> {
  const directory = testDirectory(label);
  const cgroupParent = `/berth-test-${label}-${process.pid}`;
  const events: { topic: string; namespace: string }[] = [];
  const publisher: Publisher = {
    publish: async (context, topic) => void events.push({ topic, namespace: context.namespace ?? "" }),
  };
  const rootfs = join(directory, "rootfs");
  writeBusyboxRootfs(rootfs);
  const options: LinuxRuntimeOptions = {
    state: join(directory, "state", linuxRuntimeName),
    root: join(directory, "root", linuxRuntimeName),
    address: join(directory, "berthd.sock"),
    // No daemon listens here: the shim's own events (exits) go nowhere; the daemon's tests check them.
    containerdBinary: "/bin/true",
    socketDirectory: join(directory, "s"),
    shim: stockShimV1,
    runtimeRoot: join(directory, "state", "runc"),
    publisher,
  };
  let runtime = await LinuxRuntime.open(options);
  return {
    get runtime() {
      return runtime;
    },
    set runtime(value) {
      runtime = value as LinuxRuntime;
    },
    runtimeName: linuxRuntimeName,
    rootfs,
    scratch: directory,
    stateDirectories: [options.state, options.root, options.runtimeRoot],
    spec: (id, args) => testRuntimeSpec({ args, cgroupsPath: `${cgroupParent}/${id}` }),
    published: () => events,
    async restart() {
      runtime.close();
      runtime = await LinuxRuntime.open(options);
      return runtime;
    },
    async cleanup() {
      runtime.close();
      // The v1 shims run in their bundles, below the directory.
      await reapRuntimeLeftovers({ directory, runcRoots: [options.runtimeRoot], cgroups: [cgroupParent] });
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

describe.skipIf(!existsSync(stockShimV1))("runtime v1 with Debian's containerd-shim", () => {
  describeRuntimeConformance("LinuxRuntime (io.containerd.runtime.v1.linux)", () => linuxRuntimeFixture("runtime-v1"));
});
