export type { CgroupLocation, CgroupMount, CgroupMounts } from "./cgroups/location.js";
export { hostCgroupMounts, locateCgroup, locateCgroupOfPid, parseCgroupMounts, parseProcCgroup } from "./cgroups/location.js";
export { joinCgroup } from "./cgroups/join.js";
export type { HostFacts } from "./cgroups/host.js";
export { hostFacts, hugePageSizeName, parsePartitions } from "./cgroups/host.js";
export type { CgroupV1Directories } from "./cgroups/v1.js";
export { readCgroupV1Metrics } from "./cgroups/v1.js";
export { readCgroupV2Metrics } from "./cgroups/v2.js";
export type { CgroupStats } from "./cgroups/process.js";
export { cgroupMetricsOfPid, readCgroupStats } from "./cgroups/process.js";
export { berthShimPath, groupAnnotations, shimGroup, shimSocketPath } from "./shim/paths.js";
// The shim v2 core moved to @berth/runtime; these stay for runtime-linux's users.
export type { RuntimeLogger, ShimInvocation, ShimPlatform } from "@berth/runtime";
export { Bundle, resolveShimBinary, runShimDelete, shimBinaryName, startShim } from "@berth/runtime";
export type { ShimManagerOptions } from "./v2/linux-manager.js";
export { ShimManager } from "./v2/linux-manager.js";
export { linuxShimPlatform } from "./v2/linux-platform.js";
export type { LinuxRuntimeOptions } from "./v1/runtime.js";
export { LinuxRuntime, linuxRuntimeName } from "./v1/runtime.js";
