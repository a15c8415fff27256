/**
 * `@berth/runtime-windows/shim`: the Windows seam of the shim v2 core (@berth/runtime), apart from
 * the package's entry so that loading the entry loads no ttrpc.
 */
export type { WindowsShimPlatformOptions } from "./seam.js";
export { shimLogPipeName, windowsPipePath, windowsShimPlatform } from "./seam.js";
