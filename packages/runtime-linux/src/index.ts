export type { CgroupLocation, CgroupMount, CgroupMounts, CgroupStats } from "./cgroups/location.js";
export { hostCgroupMounts, locateCgroup, locateCgroupOfPid, parseCgroupMounts, parseProcCgroup, readCgroupStats } from "./cgroups/location.js";
export type { HostFacts } from "./cgroups/host.js";
export { hostFacts, hugePageSizeName, parsePartitions } from "./cgroups/host.js";
export type { CgroupV1Directories } from "./cgroups/v1.js";
export { readCgroupV1Metrics } from "./cgroups/v1.js";
export { readCgroupV2Metrics } from "./cgroups/v2.js";
export { berthShimPath, groupAnnotations, shimGroup, shimSocketPath } from "./shim/paths.js";
