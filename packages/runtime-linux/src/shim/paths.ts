import { fileURLToPath } from "node:url";

export { groupAnnotations, shimGroup, shimSocketPath } from "./address.js";

/**
 * The path of Berth's shim binary (`bin/containerd-shim-berth-v2.js`), for a runtime's
 * `runtime_path` / BinaryName, or `ctr run --runtime <path>` against any containerd 1.6+.
 */
export const berthShimPath: string = fileURLToPath(new URL("../../bin/containerd-shim-berth-v2.js", import.meta.url));
