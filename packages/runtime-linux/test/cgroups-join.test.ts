// joinCgroup (what `shim_cgroup` does to the shim process) on this host's real cgroups: every v1
// hierarchy, and a cgroup2 hierarchy the test mounts.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { hostCgroupMounts, joinCgroup, parseCgroupMounts, parseProcCgroup } from "@berth/runtime-linux";
import { type BusyProcess, type TestCgroup, cgroupV1Available, createCgroupV1, createCgroupV2, startBusyProcess, testDirectory } from "@berth/testkit";
import { afterEach, describe, expect, it } from "vitest";

const cgroupsOf = (pid: number) => parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, "utf8"));

describe("joinCgroup", () => {
  let base: string | undefined;
  let cgroup: TestCgroup | undefined;
  let busy: BusyProcess | undefined;

  afterEach(async () => {
    await busy?.kill();
    await cgroup?.remove();
    if (base !== undefined) rmSync(base, { recursive: true, force: true });
    busy = cgroup = base = undefined;
  });

  it.skipIf(!cgroupV1Available() || hostCgroupMounts().version !== 1)(
    "moves a process into the cgroup in every v1 hierarchy; a cgroup that is not there is refused",
    () => {
      cgroup = createCgroupV1("join");
      busy = startBusyProcess();
      joinCgroup(cgroup.path, busy.pid);
      const paths = cgroupsOf(busy.pid);
      for (const controller of cgroup.directories.keys()) expect(paths.v1.get(controller), controller).toBe(cgroup.path);
      // A relative path is taken from each hierarchy's root, as containerd's.
      joinCgroup("/", busy.pid);
      joinCgroup(cgroup.path.slice(1), busy.pid);
      expect(cgroupsOf(busy.pid).v1.get("memory")).toBe(cgroup.path);
      expect(() => joinCgroup(`${cgroup!.path}-missing`, busy!.pid)).toThrow(`failed to load cgroup ${cgroup.path}-missing: cgroup deleted`);
    },
  );

  it("moves a process into a cgroup2 cgroup; a cgroup that is not there is refused", async () => {
    base = testDirectory("cgroup-join");
    const cgroup2 = await createCgroupV2("join", join(base, "mnt"));
    cgroup = cgroup2;
    const mounts = parseCgroupMounts(`30 1 0:26 / ${cgroup2.mountPoint} rw,nosuid - cgroup2 cgroup2 rw\n`);
    busy = startBusyProcess();
    joinCgroup(cgroup2.path, busy.pid, mounts);
    expect(cgroupsOf(busy.pid).v2).toBe(cgroup2.path);
    expect(() => joinCgroup(`${cgroup2.path}-missing`, busy!.pid, mounts)).toThrow(`failed to join cgroup ${cgroup2.path}-missing: ENOENT`);
  });
});
