import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CgroupMounts, directoryIn, hostCgroupMounts } from "./location.js";

/**
 * Moves process `pid` (all its threads) into the existing cgroup `path`, as containerd's shim
 * start does with `shim_cgroup`: on a unified host the v2 cgroup; else every v1 hierarchy in
 * which the cgroup exists (none: "cgroup deleted"). The cgroup is never made here.
 */
export function joinCgroup(path: string, pid: number, mounts: CgroupMounts = hostCgroupMounts()): void {
  // A relative path is taken from the root of each hierarchy, as containerd's static path.
  const absolute = join("/", path);
  let directories: string[];
  try {
    if (mounts.version === 2) directories = [directoryIn(mounts.v2!, absolute)];
    else {
      const hierarchies = new Set([...mounts.v1.values()].map((mount) => directoryIn(mount, absolute)));
      directories = [...hierarchies].filter((directory) => existsSync(directory));
    }
  } catch (error) {
    throw new Error(`failed to load cgroup ${path}: ${(error as Error).message}`);
  }
  if (directories.length === 0) throw new Error(`failed to load cgroup ${path}: cgroup deleted`);
  try {
    for (const directory of directories) writeFileSync(join(directory, "cgroup.procs"), String(pid));
  } catch (error) {
    throw new Error(`failed to join cgroup ${path}: ${(error as Error).message}`);
  }
}
