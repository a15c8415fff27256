import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCommand, spawnTracked } from "./processes.js";

/** A cgroup a test made, in every cgroup v1 hierarchy (or in a cgroup2 mount of its own). */
export interface TestCgroup {
  /** The cgroup path, as an OCI spec's linux.cgroupsPath would name it ("/berth-test-…"). */
  readonly path: string;
  /** Its directory per v1 controller (one entry, "", for cgroup2). */
  readonly directories: ReadonlyMap<string, string>;
  /** Moves a process in (every hierarchy). */
  add(pid: number): void;
  /** Writes a control file in the hierarchy of `controller`. */
  write(controller: string, file: string, value: string): void;
  /** Kills whatever is still inside and removes the cgroup; safe to call twice. */
  remove(): Promise<void>;
}

const v1Controllers = ["cpu", "cpuacct", "memory", "pids", "blkio", "hugetlb", "cpuset", "devices", "freezer"];

/** Mount points of the v1 hierarchies, by controller, read from /proc/self/mountinfo. */
export function cgroupV1MountPoints(): Map<string, string> {
  const points = new Map<string, string>();
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [before, after] = line.split(" - ");
    if (after === undefined || !after.startsWith("cgroup ")) continue;
    const mountPoint = before!.split(" ")[4]!;
    for (const option of after.split(" ")[2]!.split(",")) if (v1Controllers.includes(option) && !points.has(option)) points.set(option, mountPoint);
  }
  return points;
}

/** Whether this host mounts cgroup v1 controllers (a hybrid or legacy host). */
export const cgroupV1Available = (): boolean => cgroupV1MountPoints().size > 0;

const uniqueName = (label: string) => `berth-test-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

function killAll(directory: string): void {
  const procs = join(directory, "cgroup.procs");
  if (!existsSync(procs)) return;
  for (const pid of readFileSync(procs, "utf8").split("\n").filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** rmdir fails with EBUSY until the killed processes are reaped; retry for a while. */
async function removeDirectory(directory: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    if (!existsSync(directory)) return;
    killAll(directory);
    try {
      rmdirSync(directory);
      return;
    } catch (error) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * Makes a cgroup at the root of every mounted v1 hierarchy (cpu, cpuacct, memory, pids, blkio, …).
 * Call `remove` in afterAll/afterEach.
 */
export function createCgroupV1(label: string): TestCgroup {
  const path = `/${uniqueName(label)}`;
  const directories = new Map<string, string>();
  for (const [controller, mountPoint] of cgroupV1MountPoints()) {
    const directory = join(mountPoint, path);
    mkdirSync(directory);
    directories.set(controller, directory);
  }
  // cpuset needs its cpus and mems before a process may join.
  const cpuset = directories.get("cpuset");
  if (cpuset !== undefined) {
    for (const file of ["cpuset.cpus", "cpuset.mems"]) writeFileSync(join(cpuset, file), readFileSync(join(cpuset, "..", file)));
  }
  let removed = false;
  return {
    path,
    directories,
    add(pid) {
      for (const directory of directories.values()) writeFileSync(join(directory, "cgroup.procs"), String(pid));
    },
    write(controller, file, value) {
      const directory = directories.get(controller);
      if (directory === undefined) throw new Error(`no ${controller} hierarchy is mounted`);
      writeFileSync(join(directory, file), value);
    },
    async remove() {
      if (removed) return;
      removed = true;
      for (const directory of directories.values()) killAll(directory);
      for (const directory of directories.values()) await removeDirectory(directory);
    },
  };
}

/** A cgroup2 hierarchy mounted by the test, with one cgroup made in it. */
export interface TestCgroup2 extends TestCgroup {
  readonly mountPoint: string;
  /** The cgroup's directory. */
  readonly directory: string;
  /** Controllers this test enabled in the root's cgroup.subtree_control (disabled again on remove). */
  readonly enabled: readonly string[];
}

/**
 * Mounts cgroup2 at `mountPoint` (the host's one hierarchy, seen again), makes a cgroup in it and
 * enables `controllers` for it where the host lets cgroup2 have them. `remove` undoes all of it.
 */
export async function createCgroupV2(label: string, mountPoint: string, controllers: readonly string[] = []): Promise<TestCgroup2> {
  mkdirSync(mountPoint, { recursive: true });
  const mounted = await runCommand("mount", ["-t", "cgroup2", "none", mountPoint]);
  if (mounted.code !== 0) throw new Error(`mount -t cgroup2: ${mounted.stderr}`);
  const enabled: string[] = [];
  const name = uniqueName(label);
  const directory = join(mountPoint, name);
  const undo = async () => {
    await removeDirectory(directory);
    for (const controller of enabled) {
      try {
        writeFileSync(join(mountPoint, "cgroup.subtree_control"), `-${controller}`);
      } catch {
        // another cgroup still uses it; leaving it enabled is harmless
      }
    }
    await runCommand("umount", [mountPoint]);
    rmdirSync(mountPoint);
  };
  try {
    const available = readFileSync(join(mountPoint, "cgroup.controllers"), "utf8").trim().split(/\s+/);
    const active = readFileSync(join(mountPoint, "cgroup.subtree_control"), "utf8").trim().split(/\s+/);
    for (const controller of controllers) {
      if (!available.includes(controller) || active.includes(controller)) continue;
      writeFileSync(join(mountPoint, "cgroup.subtree_control"), `+${controller}`);
      enabled.push(controller);
    }
    mkdirSync(directory);
  } catch (error) {
    await undo();
    throw error;
  }
  let removed = false;
  return {
    path: `/${name}`,
    mountPoint,
    directory,
    directories: new Map([["", directory]]),
    enabled,
    add(pid) {
      writeFileSync(join(directory, "cgroup.procs"), String(pid));
    },
    write(_controller, file, value) {
      writeFileSync(join(directory, file), value);
    },
    async remove() {
      if (removed) return;
      removed = true;
      await undo();
    },
  };
}

/**
 * A shell that waits for a line on stdin, runs `command`, then spins on the CPU: start it, move it
 * into a cgroup, then `go()` so everything it does is accounted there. `stop()` freezes it (SIGSTOP)
 * so the cgroup's counters hold still; `kill()` ends it.
 */
export interface BusyProcess {
  readonly pid: number;
  go(): void;
  stop(): void;
  kill(): Promise<void>;
}

export function startBusyProcess(command = ":"): BusyProcess {
  const child: ChildProcess = spawnTracked("sh", ["-c", `read line; ${command}; while :; do :; done`], process.env, { stdin: "pipe" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    pid: child.pid!,
    go: () => child.stdin!.write("go\n"),
    stop: () => child.kill("SIGSTOP"),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
