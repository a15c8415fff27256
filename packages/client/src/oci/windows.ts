import * as windowsSpecOpts from "@berth/runtime-windows/spec";

/**
 * The Windows spec options (containerd's oci.SpecOpts for windows/*), from @berth/runtime-windows,
 * under one name: their names are those of the Linux options (withEnv, withTty, …).
 */
export { windowsSpecOpts };
export type { WindowsSpecOpt } from "@berth/runtime-windows/spec";
