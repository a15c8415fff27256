/**
 * @berth/runtime: the platform-neutral shim v2 core (containerd's runtime v2): the manager that
 * starts shims (`<shim> start`), drives them over ttrpc, finds them again after a daemon restart
 * and cleans up after the dead ones (`<shim> delete`, `/tasks/exit`); bundles; the runtime
 * conformance suite (`@berth/runtime/testsuite`). What differs by platform is a `ShimPlatform`:
 * `@berth/runtime-linux` and `@berth/runtime-windows` each provide one.
 */
export type { ShimInvocation } from "./binary.js";
export { lookup, resolveShimBinary, runShimDelete, shimBinaryName, startShim } from "./binary.js";
export { Bundle } from "./bundle.js";
export type { HeldTask } from "./held-tasks.js";
export { heldTask, heldTasks } from "./held-tasks.js";
export type { ShimManagerOptions } from "./manager.js";
export { ShimManager, shimCacheDirectory, subdirectories, validateSpec } from "./manager.js";
export type { ShimPlatform } from "./platform.js";
export type { RuntimeLogger } from "./shim.js";
export { removeDeadSocket } from "./shim.js";
export { callOptions, processStateOf } from "./shim-task.js";
