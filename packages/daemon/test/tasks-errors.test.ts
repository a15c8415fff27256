// berthd's Tasks service refuses bad input with containerd's error kinds, and a refused create
// leaves nothing: no bundle, mount, shim, runc container or cgroup.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type CallContext, type NewContainer, kindOfFailure, packJson } from "@berth/api";
import { mountPointsUnder } from "@berth/mount";
import { Client } from "@berth/client";
import { type RunningDaemon, processesUnder, reapRuntimeLeftovers, startBerthd, testRuntimeSpec, writeBusyboxRootfs } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const namespace = `berth-test-task-errors-${process.pid}`;
const context: CallContext = { namespace };
const specType = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

describe("Tasks service: bad input", () => {
  let berthd: RunningDaemon;
  let client: Client;
  let base: string;
  let rootfs: string;

  const container = (id: string, overrides: Partial<NewContainer> = {}): NewContainer => ({
    id,
    labels: {},
    image: "",
    runtime: { name: "io.containerd.runc.v2" },
    spec: packJson(specType, testRuntimeSpec({ args: ["sleep", "1000"], cgroupsPath: `/${namespace}/${id}` })),
    snapshotter: "",
    snapshotKey: "",
    extensions: {},
    sandbox: "",
    ...overrides,
  });
  const io = { stdin: "", stdout: "", stderr: "", terminal: false };
  const bindRootfs = () => [{ type: "bind", source: rootfs, options: ["rbind", "rw"] }];
  const createTask = (containerId: string, rootfsMounts = bindRootfs()) => client.tasks.create(context, { containerId, rootfs: rootfsMounts, ...io });
  /** What a task of `id` could have left behind. */
  const leftovers = (id: string) => [
    ...[
      join(berthd.state, "io.containerd.runtime.v2.task", namespace, id),
      join(berthd.root, "io.containerd.runtime.v2.task", namespace, id),
      join(berthd.state, "runc", namespace, id),
    ].filter(existsSync),
    ...mountPointsUnder(berthd.state).map((mount) => `mount ${mount}`),
    ...processesUnder(base).map((pid) => `process ${pid}`),
  ];

  beforeAll(async () => {
    berthd = await startBerthd();
    base = join(berthd.root, "..");
    rootfs = join(base, "rootfs");
    mkdirSync(rootfs);
    writeBusyboxRootfs(rootfs);
    client = await Client.connect({ address: berthd.address, namespace });
  });

  afterAll(async () => {
    client?.close();
    await berthd?.stop();
    if (base !== undefined) await reapRuntimeLeftovers({ directory: base, runcRoots: [join(berthd.state, "runc")], cgroups: [`/${namespace}`] });
    await berthd?.cleanup();
  });

  it("calls on a container that does not exist, or has no task, are NotFound", async () => {
    expect(await kindOfFailure(() => createTask("nosuch"))).toBe("NotFound");
    await client.containers.create(context, container("idle"));
    for (const call of [
      () => client.tasks.start(context, "idle"),
      () => client.tasks.get(context, "idle"),
      () => client.tasks.wait(context, "idle"),
      () => client.tasks.kill(context, "idle", 9),
      () => client.tasks.delete(context, "idle"),
      () => client.tasks.pause(context, "idle"),
      () => client.tasks.listPids(context, "idle"),
      () => client.tasks.get(context, "nosuch"),
    ]) {
      expect(await kindOfFailure(call)).toBe("NotFound");
    }
    expect(await kindOfFailure(() => client.tasks.metrics(context, ["id=="]))).toBe("InvalidArgument");
    expect(await client.tasks.list(context)).toEqual([]);
  });

  it("a bad spec is InvalidArgument, an unknown runtime or a missing snapshot NotFound, a spec runc refuses fails; none leaves anything", async () => {
    await client.containers.create(context, container("badspec", { spec: { typeUrl: specType, value: Buffer.from("{not json") } }));
    expect(await kindOfFailure(() => createTask("badspec"))).toBe("InvalidArgument");
    expect(leftovers("badspec")).toEqual([]);

    await client.containers.create(context, container("noruntime", { runtime: { name: "io.containerd.nosuch.v1" } }));
    expect(await kindOfFailure(() => createTask("noruntime"))).toBe("NotFound");
    expect(leftovers("noruntime")).toEqual([]);

    await client.containers.create(context, container("nosnapshot", { snapshotter: "overlayfs", snapshotKey: "nosuch" }));
    expect(await kindOfFailure(() => createTask("nosnapshot", []))).toBe("NotFound");
    expect(leftovers("nosnapshot")).toEqual([]);

    const refused = testRuntimeSpec({ args: ["/no/such/binary"], cgroupsPath: `/${namespace}/refused` });
    await client.containers.create(context, container("refused", { spec: packJson(specType, refused) }));
    expect(await kindOfFailure(() => createTask("refused"))).not.toBe("none");
    expect(leftovers("refused")).toEqual([]);
    expect(await kindOfFailure(() => client.tasks.get(context, "refused"))).toBe("NotFound");
  });

  it("an id in use is AlreadyExists; a running task cannot be deleted; exec ids are checked", async () => {
    await client.containers.create(context, container("busy"));
    const pid = await createTask("busy");
    expect(pid).toBeGreaterThan(0);
    expect(await kindOfFailure(() => createTask("busy"))).toBe("AlreadyExists");
    await client.tasks.start(context, "busy");
    expect(await kindOfFailure(() => client.tasks.delete(context, "busy"))).toBe("FailedPrecondition");
    const process = packJson("types.containerd.io/opencontainers/runtime-spec/1/Process", { args: ["sleep", "1000"], cwd: "/", user: { uid: 0, gid: 0 } });
    expect(await kindOfFailure(() => client.tasks.exec(context, "busy", "", process, io))).toBe("InvalidArgument");
    expect(await kindOfFailure(() => client.tasks.exec(context, "busy", "bad/id", process, io))).toBe("InvalidArgument");
    await client.tasks.exec(context, "busy", "e1", process, io);
    expect(await kindOfFailure(() => client.tasks.exec(context, "busy", "e1", process, io))).toBe("AlreadyExists");
    expect(await kindOfFailure(() => client.tasks.get(context, "busy", "e2"))).toBe("NotFound");
    await client.tasks.deleteProcess(context, "busy", "e1");
    await client.tasks.kill(context, "busy", 9);
    expect((await client.tasks.wait(context, "busy")).exitStatus).toBe(137);
    expect(await kindOfFailure(() => client.tasks.kill(context, "busy", 9))).toBe("NotFound");
    expect((await client.tasks.delete(context, "busy")).exitStatus).toBe(137);
    expect(leftovers("busy")).toEqual([]);
  });
});
