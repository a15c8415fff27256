// The runc options' `shim_cgroup`: the shim process that serves a task asking for it runs in that
// cgroup (containerd's shim start moves it there), with Berth's shim as with Debian's stock one.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type CallContext, packJson } from "@berth/api";
import { runcV1, taskV2 } from "@berth/api/proto";
import { berthShimPath, hostCgroupMounts, parseProcCgroup } from "@berth/runtime-linux";
import { type TestCgroup, createCgroupV1, createCgroupV2 } from "@berth/testkit";
import { TtrpcClient, ttrpcServiceClient } from "@berth/ttrpc";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { waitFor } from "./daemon-setup.js";
import { managerFixture, removeTask, stockShim } from "./manager-fixture.js";

type Fixture = Awaited<ReturnType<typeof managerFixture>>;

const shims = [
  { shim: "Berth's shim", binary: berthShimPath },
  { shim: "the stock shim", binary: stockShim },
];

describe.each(shims)("shim_cgroup with $shim", ({ shim, binary }) => {
  const label = `shimcg-${shim === "Berth's shim" ? "berth" : "stock"}`;
  const context: CallContext = { namespace: "shimcg" };
  let fixture: Fixture;
  let cgroup: TestCgroup;

  beforeAll(async () => {
    fixture = await managerFixture(label, binary);
    cgroup = hostCgroupMounts().version === 1 ? createCgroupV1(label) : await createCgroupV2(label, join(fixture.scratch, "cgroup2"));
  });
  afterAll(async () => {
    await cgroup?.remove();
    await fixture?.cleanup();
  });

  const runcOptions = (shimCgroup: string) => ({
    typeUrl: "containerd.runc.v1.Options",
    value: Buffer.from(runcV1.Options.encode(runcV1.Options.fromPartial({ shimCgroup })).finish()),
  });
  const create = (id: string, shimCgroup?: string) =>
    fixture.runtime.create(context, id, {
      spec: packJson("types.containerd.io/opencontainers/runtime-spec/1/Spec", fixture.spec(id, ["sleep", "1000"])),
      rootfs: [{ type: "bind", source: fixture.rootfs, options: ["rbind", "rw"] }],
      io: { stdin: "", stdout: "", stderr: "", terminal: false },
      runtime: fixture.runtimeName,
      ...(shimCgroup === undefined ? {} : { runtimeOptions: runcOptions(shimCgroup) }),
    });
  /** The pid of the shim process serving task `id`, as it answers Connect. */
  const shimPidOf = async (id: string): Promise<number> => {
    const address = readFileSync(join(fixture.options.state, context.namespace!, id, "address"), "utf8").trim();
    const client = await TtrpcClient.connect(address);
    try {
      return (await ttrpcServiceClient(taskV2.TaskDefinition, client, { namespace: context.namespace! }).connect({ id })).shimPid;
    } finally {
      client.close();
    }
  };
  /** The cgroup path of `pid` in every hierarchy the test cgroup has (v1 controllers, or "" for v2). */
  const cgroupsOf = (pid: number): string[] => {
    const paths = parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
    return [...cgroup.directories.keys()].map((controller) => (controller === "" ? paths.v2 : paths.v1.get(controller)) ?? "");
  };

  test("the shim serving a task with shim_cgroup runs in it; a task without it is served by a shim outside", async () => {
    await create("placed", cgroup.path);
    await create("plain");
    try {
      const placed = await shimPidOf("placed");
      const plain = await shimPidOf("plain");
      expect(plain).not.toBe(placed);
      expect(new Set(cgroupsOf(placed))).toEqual(new Set([cgroup.path]));
      expect(cgroupsOf(plain)).not.toContain(cgroup.path);
    } finally {
      await removeTask(fixture, context, "placed");
      await removeTask(fixture, context, "plain");
    }
  });

  test("a shim_cgroup that does not exist fails the create and leaves no task or bundle", async () => {
    const missing = `${cgroup.path}-missing`;
    await expect(create("nowhere", missing)).rejects.toThrow(/failed to load cgroup/);
    await expect(fixture.runtime.get(context, "nowhere")).rejects.toThrow();
    expect(await waitFor(() => !existsSync(join(fixture.options.state, context.namespace!, "nowhere")))).toBe(true);
  });
});
