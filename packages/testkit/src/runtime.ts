import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { defaultSpec } from "@berth/client";
import { unmountUnder } from "@berth/mount";
import { busyboxLayerEntries } from "./images.js";
import { runCommand } from "./processes.js";

/** Writes Debian's busybox-static and its applet links into `directory` (a rootfs without an image). */
export function writeBusyboxRootfs(directory: string): void {
  for (const entry of busyboxLayerEntries()) {
    const path = join(directory, entry.path);
    mkdirSync(entry.type === "dir" ? path : dirname(path), { recursive: true });
    if (entry.type === "file") writeFileSync(path, entry.content ?? "", { mode: entry.mode ?? 0o644 });
    else if (entry.type === "symlink") symlinkSync(entry.linkname!, path);
  }
  for (const mountpoint of ["proc", "dev", "sys", "run", "tmp"]) mkdirSync(join(directory, mountpoint), { recursive: true });
}

export interface TestSpecOptions {
  readonly args: readonly string[];
  /** linux.cgroupsPath, e.g. `/berth-test-<id>`; tests remove it with `removeTestCgroups`. */
  readonly cgroupsPath: string;
  readonly terminal?: boolean;
  /** `root.path`; default "rootfs" (relative to the bundle, as ctr's). */
  readonly rootPath?: string;
}

/**
 * containerd's default Linux spec (the client's `defaultSpec`: namespaces, mounts, capabilities,
 * masked paths) running `args`, with every device denied and the cgroup the test names.
 */
export function testRuntimeSpec(options: TestSpecOptions): Record<string, unknown> {
  const base = defaultSpec("", "");
  return {
    ...base,
    process: {
      terminal: options.terminal ?? false,
      ...base.process,
      args: options.args,
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    },
    root: { path: options.rootPath ?? "rootfs" },
    linux: { ...base.linux, resources: { devices: [{ allow: false, access: "rwm" }] }, cgroupsPath: options.cgroupsPath },
  };
}

const cgroupRoot = "/sys/fs/cgroup";

/**
 * Removes the cgroup directory `path` (and what is below it) from every hierarchy, v1 or v2, once
 * its processes are gone. Returns the directories that could not be removed.
 */
export function removeTestCgroups(path: string): string[] {
  const left: string[] = [];
  const hierarchies = existsSync(join(cgroupRoot, "cgroup.controllers")) ? [cgroupRoot] : readdirSync(cgroupRoot).map((name) => join(cgroupRoot, name));
  const remove = (directory: string) => {
    if (!existsSync(directory)) return;
    for (const entry of readdirSync(directory, { withFileTypes: true })) if (entry.isDirectory()) remove(join(directory, entry.name));
    try {
      rmdirSync(directory);
    } catch {
      left.push(directory);
    }
  };
  for (const hierarchy of hierarchies) remove(join(hierarchy, path));
  return left;
}

/** The pids of the processes for which `test(pid)` holds; those that exit meanwhile are left out. */
function processesWhere(test: (pid: string) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (test(entry)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Processes whose working directory is under `directory`: shims run in their bundles. */
export function processesUnder(directory: string): number[] {
  return processesWhere((pid) => readlinkSync(`/proc/${pid}/cwd`).startsWith(`${directory}/`));
}

/** Whether a command line is a shim's of the daemon at `address`: shim v2's `-address <address>` (single dash; ctr's is `--address`). */
export function isShimOf(args: readonly string[], address: string): boolean {
  return args.some((arg, i) => (arg === "-address" && args[i + 1] === address) || arg === `-address=${address}`);
}

/** Processes started as shims of the daemon at `address`, wherever they run (a shim serving many containers has no bundle for a working directory). */
export function shimsOf(address: string): number[] {
  return processesWhere((pid) => isShimOf(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"), address));
}

export interface RuntimeLeftovers {
  /** The test's directory: shims running in bundles below it are killed, mounts below it undone. */
  readonly directory: string;
  /** runc state roots (`--root`), whose containers are force-deleted per namespace directory. */
  readonly runcRoots: readonly string[];
  /** Cgroup paths (e.g. `/<namespace>`) removed from every hierarchy. */
  readonly cgroups: readonly string[];
}

/** The sockets named by `address` files (written by shims into their bundles) below `directory`. */
function shimSockets(directory: string, depth = 6): string[] {
  if (depth === 0 || !existsSync(directory)) return [];
  const sockets: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) sockets.push(...shimSockets(path, depth - 1));
    else if (entry.name === "address" && entry.isFile())
      sockets.push(
        readFileSync(path, "utf8")
          .trim()
          .replace(/^unix:\/\//, ""),
      );
  }
  return sockets;
}

/**
 * Whatever a failed runtime test left: shim processes and their sockets, runc containers (and so
 * their processes), mounts, cgroups.
 */
export async function reapRuntimeLeftovers(leftovers: RuntimeLeftovers): Promise<void> {
  const sockets = shimSockets(leftovers.directory);
  // Shims run in their bundles, or (one serving many containers) anywhere with the daemon's address in their arguments.
  const named = processesWhere(
    (pid) =>
      Number(pid) !== process.pid &&
      readFileSync(`/proc/${pid}/cmdline`, "utf8")
        .split("\0")
        .some((arg) => arg.startsWith(`${leftovers.directory}/`)),
  );
  for (const pid of new Set([...processesUnder(leftovers.directory), ...named])) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const root of leftovers.runcRoots) {
    if (!existsSync(root)) continue;
    for (const namespace of readdirSync(root, { withFileTypes: true })) {
      if (!namespace.isDirectory()) continue;
      for (const id of readdirSync(join(root, namespace.name))) {
        await runCommand("runc", ["--root", join(root, namespace.name), "delete", "--force", id]);
      }
    }
  }
  // A shim killed above cannot remove its own socket.
  for (const socket of sockets) if (socket.startsWith("/")) rmSync(socket, { force: true });
  await unmountUnder(leftovers.directory, { detach: true });
  for (const cgroup of leftovers.cgroups) removeTestCgroups(cgroup);
}
