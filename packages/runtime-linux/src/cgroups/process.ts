import type { Any } from "@berth/api";
import * as cgroupsV1 from "@berth/api/gen/io/containerd/cgroups/v1/metrics";
import * as cgroupsV2 from "@berth/api/gen/io/containerd/cgroups/v2/metrics";
import type { HostFacts } from "./host.js";
import { type CgroupLocation, locateCgroupOfPid } from "./location.js";
import { readCgroupV1Metrics } from "./v1.js";
import { readCgroupV2Metrics } from "./v2.js";

// Apart from location.ts, so that what only locates cgroups (the shim's OOM watch, joining a
// cgroup) does not load the metrics types, most of the shim server's code.

export type CgroupStats = { readonly version: 1; readonly metrics: cgroupsV1.Metrics } | { readonly version: 2; readonly metrics: cgroupsV2.Metrics };

/** Reads the statistics of a located cgroup, in the message of its version. */
export function readCgroupStats(location: CgroupLocation, host?: HostFacts): CgroupStats {
  return location.version === 1
    ? { version: 1, metrics: readCgroupV1Metrics(location.directories, host) }
    : { version: 2, metrics: readCgroupV2Metrics(location.directory, host) };
}

/** The cgroup statistics of the cgroup `pid` is in, as the Any containerd reports (v1 or v2 Metrics). */
export function cgroupMetricsOfPid(pid: number): Any {
  const stats = readCgroupStats(locateCgroupOfPid(pid));
  return stats.version === 1
    ? { typeUrl: "io.containerd.cgroups.v1.Metrics", value: Buffer.from(cgroupsV1.Metrics.encode(stats.metrics).finish()) }
    : { typeUrl: "io.containerd.cgroups.v2.Metrics", value: Buffer.from(cgroupsV2.Metrics.encode(stats.metrics).finish()) };
}
