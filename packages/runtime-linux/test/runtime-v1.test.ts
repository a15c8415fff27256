// The runtime conformance suite through the runtime v1 (io.containerd.runtime.v1.linux): Debian's
// stock containerd-shim, started and driven as containerd 1.6 does.
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type CallContext, type Publisher, kindOfFailure, packJson } from "@berth/api";
import { linuxRunc, runcV1 } from "@berth/api/proto";
import { LinuxRuntime, type LinuxRuntimeOptions, linuxRuntimeName } from "@berth/runtime-linux";
import { type RuntimeFixture, describeRuntimeConformance } from "@berth/runtime-linux/testsuite";
import { type TestCgroup, cgroupV1Available, createCgroupV1, reapRuntimeLeftovers, testDirectory, testRuntimeSpec, writeBusyboxRootfs } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const stockShimV1 = "/usr/bin/containerd-shim";

async function linuxRuntimeFixture(label: string): Promise<RuntimeFixture & { options: LinuxRuntimeOptions }> {
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
    options,
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

describe.skipIf(!existsSync(stockShimV1))("runtime v1 options", () => {
  const context: CallContext = { namespace: "v1-options" };
  let fixture: Awaited<ReturnType<typeof linuxRuntimeFixture>>;
  let cgroup: TestCgroup | undefined;
  beforeAll(async () => {
    fixture = await linuxRuntimeFixture("v1-opts");
  });
  afterAll(async () => {
    for (const task of (await fixture?.runtime.tasks(context)) ?? []) await fixture.runtime.delete(context, task.id).catch(() => undefined);
    await cgroup?.remove();
    await fixture?.cleanup();
  });

  const create = (id: string, options: { runtimeOptions?: ReturnType<typeof packJson>; taskOptions?: ReturnType<typeof packJson> }) =>
    fixture.runtime.create(context, id, {
      spec: packJson("types.containerd.io/opencontainers/runtime-spec/1/Spec", fixture.spec(id, ["sleep", "1000"])),
      rootfs: [{ type: "bind", source: fixture.rootfs, options: ["rbind", "rw"] }],
      io: { stdin: "", stdout: "", stderr: "", terminal: false },
      runtime: linuxRuntimeName,
      ...options,
    });
  const any = (typeUrl: string, bytes: Uint8Array) => ({ typeUrl, value: Buffer.from(bytes) });

  it("the container's RuncOptions give runc's root; the task's CreateOptions shim_cgroup holds the shim", async (testContext) => {
    if (!cgroupV1Available()) return testContext.skip();
    cgroup = createCgroupV1("v1-shim");
    const runcRoot = join(fixture.scratch, "custom-runc");
    const id = `opts-${process.pid}`;
    await create(id, {
      runtimeOptions: any(
        "containerd.linux.runc.RuncOptions",
        linuxRunc.RuncOptions.encode(linuxRunc.RuncOptions.fromPartial({ runtimeRoot: runcRoot })).finish(),
      ),
      taskOptions: any(
        "containerd.linux.runc.CreateOptions",
        linuxRunc.CreateOptions.encode(linuxRunc.CreateOptions.fromPartial({ shimCgroup: cgroup.path })).finish(),
      ),
    });
    expect(readdirSync(join(runcRoot, context.namespace!))).toEqual([id]);
    const shimPid = readFileSync(join(fixture.options.state, context.namespace!, id, "shim.pid"), "utf8");
    expect(readFileSync(`/proc/${shimPid}/cgroup`, "utf8").split("\n")).toContainEqual(expect.stringMatching(new RegExp(`:${cgroup.path}$`)));
    await fixture.runtime.delete(context, id);
    expect(readdirSync(join(runcRoot, context.namespace!))).toEqual([]);
  });

  it("options of another runtime's type are InvalidArgument and leave nothing", async () => {
    const id = `bad-opts-${process.pid}`;
    const runcOptions = any("containerd.runc.v1.Options", runcV1.Options.encode(runcV1.Options.fromPartial({ root: "/x" })).finish());
    expect(await kindOfFailure(() => create(id, { runtimeOptions: runcOptions }))).toBe("InvalidArgument");
    expect(await kindOfFailure(() => create(id, { taskOptions: runcOptions }))).toBe("InvalidArgument");
    expect(await kindOfFailure(() => fixture.runtime.get(context, id))).toBe("NotFound");
    expect(existsSync(join(fixture.options.state, context.namespace!, id))).toBe(false);
  });
});
