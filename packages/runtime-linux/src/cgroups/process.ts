import type { Any } from "@berth/api";
import { cgroupsV1, cgroupsV2 } from "@berth/api/proto";
import { locateCgroupOfPid, readCgroupStats } from "./location.js";

/** The cgroup statistics of the cgroup `pid` is in, as the Any containerd reports (v1 or v2 Metrics). */
export function cgroupMetricsOfPid(pid: number): Any {
  const stats = readCgroupStats(locateCgroupOfPid(pid));
  return stats.version === 1
    ? { typeUrl: "io.containerd.cgroups.v1.Metrics", value: Buffer.from(cgroupsV1.Metrics.encode(stats.metrics).finish()) }
    : { typeUrl: "io.containerd.cgroups.v2.Metrics", value: Buffer.from(cgroupsV2.Metrics.encode(stats.metrics).finish()) };
}
