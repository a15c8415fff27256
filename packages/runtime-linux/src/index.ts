export type { ShimInvocation } from "./v2/binary.js";
export { resolveShimBinary, runShimDelete, shimBinaryName, startShim } from "./v2/binary.js";
export { Bundle } from "./v2/bundle.js";
export type { ShimManagerOptions } from "./v2/manager.js";
export { ShimManager } from "./v2/manager.js";
export type { RuntimeLogger } from "./v2/shim.js";
