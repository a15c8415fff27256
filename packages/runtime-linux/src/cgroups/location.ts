import { readFileSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { invalidArgument, notFound } from "@berth/api";
import type { CgroupV1Directories } from "./v1.js";

/** Where one mounted hierarchy is, and which cgroup path its mount shows at its mount point. */
export interface CgroupMount {
  readonly mountPoint: string;
  readonly root: string;
}

/** The cgroup hierarchies mounted on this host: v1 ones by controller, the v2 one if any. */
export interface CgroupMounts {
  readonly v1: ReadonlyMap<string, CgroupMount>;
  readonly v2: CgroupMount | undefined;
  /** Containers use v2 only when no v1 hierarchy is mounted (containerd's "unified" mode). */
  readonly version: 1 | 2;
}

/** A cgroup on disk: one directory per v1 controller, or the one v2 directory. */
export type CgroupLocation = { readonly version: 1; readonly directories: CgroupV1Directories } | { readonly version: 2; readonly directory: string };

const controllerNames = new Set([
  "cpuset",
  "cpu",
  "cpuacct",
  "blkio",
  "memory",
  "devices",
  "freezer",
  "net_cls",
  "perf_event",
  "net_prio",
  "hugetlb",
  "pids",
  "rdma",
  "misc",
]);

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));

/** Parses /proc/<pid>/mountinfo for cgroup and cgroup2 mounts; the first mount of a hierarchy wins. */
export function parseCgroupMounts(mountinfo: string): CgroupMounts {
  const v1 = new Map<string, CgroupMount>();
  let v2: CgroupMount | undefined;
  for (const line of mountinfo.split("\n")) {
    const separator = line.indexOf(" - ");
    if (separator < 0) continue;
    const fields = line.slice(0, separator).split(" ");
    const [fstype, , superOptions = ""] = line.slice(separator + 3).split(" ");
    const mount = { root: unescape(fields[3] ?? "/"), mountPoint: unescape(fields[4] ?? "") };
    if (fstype === "cgroup2") v2 ??= mount;
    else if (fstype === "cgroup") {
      for (const option of superOptions.split(",")) {
        if ((controllerNames.has(option) || option.startsWith("name=")) && !v1.has(option)) v1.set(option, mount);
      }
    }
  }
  const hasV1Controller = [...v1.keys()].some((name) => controllerNames.has(name));
  return { v1, v2, version: hasV1Controller || v2 === undefined ? 1 : 2 };
}

let cachedMounts: CgroupMounts | undefined;

/** This host's cgroup mounts, read once from /proc/self/mountinfo. */
export function hostCgroupMounts(): CgroupMounts {
  cachedMounts ??= parseCgroupMounts(readFileSync("/proc/self/mountinfo", "utf8"));
  return cachedMounts;
}

/** The directory of cgroup `path` in a hierarchy mounted as `mount`. */
export function directoryIn(mount: CgroupMount, path: string): string {
  const inside = relative(mount.root, path);
  if (inside.startsWith("..") || isAbsolute(inside)) throw notFound(`cgroup ${path} is outside the hierarchy mounted at ${mount.mountPoint}`);
  return join(mount.mountPoint, inside);
}

/**
 * The location of a cgroup given as an absolute cgroup path, the form of an OCI spec's
 * `linux.cgroupsPath` for the cgroupfs driver (e.g. "/default/redis"): the same path in every v1
 * hierarchy, or in the v2 hierarchy on a unified host.
 */
export function locateCgroup(path: string, mounts: CgroupMounts = hostCgroupMounts()): CgroupLocation {
  if (!path.startsWith("/")) throw invalidArgument(`cgroup path ${JSON.stringify(path)} must be absolute`);
  if (mounts.version === 2) return { version: 2, directory: directoryIn(mounts.v2!, path) };
  const directories = new Map<string, string>();
  for (const [controller, mount] of mounts.v1) if (controllerNames.has(controller)) directories.set(controller, directoryIn(mount, path));
  return { version: 1, directories };
}

/** Parses /proc/<pid>/cgroup: `hierarchy-id:controller,list:/path` per line ("0::/path" on v2). */
export function parseProcCgroup(text: string): { v1: Map<string, string>; v2: string | undefined } {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (line.slice(0, first) === "0" && controllers === "") v2 = path;
    else for (const controller of controllers.split(",")) v1.set(controller, path);
  }
  return { v1, v2 };
}

/** The location of the cgroup process `pid` is in, from /proc/<pid>/cgroup (as containerd's PidPath). */
export function locateCgroupOfPid(pid: number, mounts: CgroupMounts = hostCgroupMounts()): CgroupLocation {
  if (!Number.isInteger(pid) || pid <= 0) throw invalidArgument(`pid ${pid} must be a positive integer`);
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ESRCH") throw notFound(`process ${pid} not found`);
    throw error;
  }
  const paths = parseProcCgroup(text);
  if (mounts.version === 2) {
    if (paths.v2 === undefined) throw notFound(`process ${pid} is in no cgroup v2 cgroup`);
    return { version: 2, directory: directoryIn(mounts.v2!, paths.v2) };
  }
  const directories = new Map<string, string>();
  for (const [controller, mount] of mounts.v1) {
    const path = paths.v1.get(controller);
    if (path !== undefined && controllerNames.has(controller)) directories.set(controller, directoryIn(mount, path));
  }
  return { version: 1, directories };
}
