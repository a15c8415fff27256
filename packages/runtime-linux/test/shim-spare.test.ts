// Spare shim servers: Berth's shim started ahead of need, which a namespace's first task adopts,
// and which never outlives its daemon nor shows up as anyone's shim.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { packJson } from "@berth/api";
import { runcV1 } from "@berth/api/proto";
import { berthShimPath, linuxShimPlatformWithSpares } from "@berth/runtime-linux";
import { type RunningDaemon, ctrSession, disposeTaskDaemon, shimManagerFixture, startBerthd, stockCtr } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSleeper, removeTask } from "./manager-fixture.js";
import { waitFor } from "./daemon-setup.js";

/** A process's arguments, or undefined once it is gone (or a zombie: it has none). */
function commandLine(pid: number): string[] | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .filter((arg) => arg !== "");
    return args.length === 0 ? undefined : args;
  } catch {
    return undefined;
  }
}

/** The spare shims of the daemon at `address` (Berth's shim, `-address <address> … spare …`). */
function sparesOf(address: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      const args = commandLine(pid) ?? [];
      return args.includes(berthShimPath) && args.includes("spare") && args[args.indexOf("-address") + 1] === address;
    });
}

const gone = (pid: number) => commandLine(pid) === undefined;

async function oneSpare(address: string): Promise<number> {
  expect(await waitFor(() => sparesOf(address).length === 1)).toBe(true);
  return sparesOf(address)[0]!;
}

describe("a shim manager that keeps a spare of Berth's shim", () => {
  let fixture: Awaited<ReturnType<typeof shimManagerFixture>>;
  beforeAll(async () => {
    fixture = await shimManagerFixture("shim-spare", (directory) => {
      const address = join(directory, "berthd.sock");
      const root = join(directory, "root", "io.containerd.runtime.v2.task");
      return { shimBinary: berthShimPath, platform: linuxShimPlatformWithSpares({ count: 1, address, ttrpcAddress: `${address}.ttrpc`, root }) };
    });
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it("makes the spare the server of a namespace's first task, shown as any server, and starts the next spare", async () => {
    const spare = await oneSpare(fixture.address);
    const context = { namespace: "adopting" };
    const task = await createSleeper(fixture, context, "one");
    await task.start(context);
    expect((await task.state(context)).status).toBe("running");
    // The task's shim is the spare, its command line now the one a launched server has.
    const args = commandLine(spare)!;
    expect(args.at(-1)).toBe("serve");
    expect(args.slice(args.indexOf("-namespace"), args.indexOf("-namespace") + 2)).toEqual(["-namespace", "adopting"]);
    const socket = readFileSync(join(fixture.options.state, "adopting", "one", "address"), "utf8").slice("unix://".length);
    expect(args.slice(args.indexOf("-socket"), args.indexOf("-socket") + 2)).toEqual(["-socket", socket]);
    const next = await oneSpare(fixture.address);
    expect(next).not.toBe(spare);
    await removeTask(fixture, context, "one");
    // Served nothing any more: the adopted server leaves, as a launched one does; the next spare stays.
    expect(await waitFor(() => gone(spare))).toBe(true);
    expect(sparesOf(fixture.address)).toEqual([next]);
  });

  it("ends a spare whose handover fails, and the create fails as with a launched server", async () => {
    const spare = await oneSpare(fixture.address);
    const context = { namespace: "failing" };
    const options = runcV1.Options.encode(runcV1.Options.fromPartial({ shimCgroup: "/berth-test-no-such-cgroup" })).finish();
    const created = fixture.runtime.create(context, "one", {
      spec: packJson("types.containerd.io/opencontainers/runtime-spec/1/Spec", fixture.spec("one", ["true"])),
      rootfs: [{ type: "bind", source: fixture.rootfs, options: ["rbind", "rw"] }],
      io: { stdin: "", stdout: "", stderr: "", terminal: false },
      runtime: fixture.runtimeName,
      runtimeOptions: { typeUrl: "containerd.runc.v1.Options", value: Buffer.from(options) },
    });
    await expect(created).rejects.toThrow(/start failed: .*cgroup/);
    expect(await waitFor(() => gone(spare))).toBe(true);
    expect(existsSync(join(fixture.options.state, "failing", "one"))).toBe(false);
  });

  it("ends its spare when the manager closes", async () => {
    const spare = await oneSpare(fixture.address);
    fixture.runtime.close();
    expect(await waitFor(() => gone(spare))).toBe(true);
  });
});

describe.skipIf(stockCtr === undefined)("berthd's spare shim", () => {
  const namespace = `berth-test-spare-${process.pid}`;
  let daemon: RunningDaemon;
  beforeAll(async () => {
    daemon = await startBerthd();
  });
  afterAll(async () => {
    if (daemon !== undefined) await disposeTaskDaemon(daemon, [namespace]);
  });

  it("is no task nor plugin, and goes when berthd stops", async () => {
    const spare = await oneSpare(daemon.address);
    const session = ctrSession(daemon, namespace);
    expect((await session.ctr("tasks", "ls", "-q")).stdout).toBe("");
    expect((await session.ctr("plugins", "ls")).stdout).not.toMatch(/spare/i);
    await daemon.stop();
    expect(await waitFor(() => gone(spare))).toBe(true);
    daemon = await startBerthd({ reuse: daemon });
  });

  it("goes when berthd is killed with -9", async () => {
    const spare = await oneSpare(daemon.address);
    await daemon.kill();
    expect(await waitFor(() => gone(spare))).toBe(true);
    daemon = await startBerthd({ reuse: daemon });
    expect(await oneSpare(daemon.address)).not.toBe(spare);
  });
});

describe.skipIf(stockCtr === undefined)("berthd's spare_shims", () => {
  const withSpares = (value: string) => `version = 2\n[plugins."io.containerd.runtime.v2.task"]\nspare_shims = ${value}\n`;

  it("a value that is not a count fails the runtime plugin, naming the key", async () => {
    const daemon = await startBerthd({ config: withSpares("-1") });
    try {
      const listed = await ctrSession(daemon, "default").ctr("plugins", "ls", "-d", "id==task");
      expect(listed.stdout).toContain("spare_shims: -1 is not a count (0 or more): invalid argument");
      expect(sparesOf(daemon.address)).toEqual([]);
    } finally {
      await disposeTaskDaemon(daemon, []);
    }
  });
});
