import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Any, notFound } from "@berth/api";
import { cgroupsV1, cgroupsV2 } from "@berth/api/proto";
import { locateCgroup, locateCgroupOfPid, readCgroupStats } from "./location.js";

/** The cgroup statistics of the cgroup `pid` is in, as the Any containerd reports (v1 or v2 Metrics). */
export function cgroupMetricsOfPid(pid: number): Any {
  const stats = readCgroupStats(locateCgroupOfPid(pid));
  return stats.version === 1
    ? { typeUrl: "io.containerd.cgroups.v1.Metrics", value: Buffer.from(cgroupsV1.Metrics.encode(stats.metrics).finish()) }
    : { typeUrl: "io.containerd.cgroups.v2.Metrics", value: Buffer.from(cgroupsV2.Metrics.encode(stats.metrics).finish()) };
}

/** Moves `pid` into the existing cgroup `path` (every v1 hierarchy, or the v2 one); NotFound when it does not exist. */
export function moveToCgroup(pid: number, path: string): void {
  const location = locateCgroup(path);
  const directories = location.version === 2 ? [location.directory] : [...new Set(location.directories.values())];
  const existing = directories.filter((directory) => existsSync(directory));
  if (existing.length === 0) throw notFound(`cgroup ${path}`);
  for (const directory of existing) writeFileSync(join(directory, "cgroup.procs"), String(pid));
}
