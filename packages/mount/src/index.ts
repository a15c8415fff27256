/**
 * @berth/mount: performs containerd `Mount` lists (bind, overlay, btrfs and any other type) with
 * mount(2) and umount2(2), which Node lacks, called through koffi. Linux only; needs the
 * privileges mount(2) does.
 */
export { MountError, errnoName } from "./errors.js";
export { compactLowerdir, mountAll } from "./mount.js";
export { mountPoints, mountPointsUnder } from "./mountinfo.js";
export { cleanupTempMounts } from "./temp-mounts.js";
export type { ParsedMountOptions } from "./options.js";
export { mountFlags, parseMountOptions } from "./options.js";
export type { UnmountOptions } from "./unmount.js";
export { unmountAll, unmountUnder } from "./unmount.js";
export type { WithMountsOptions } from "./with-mounts.js";
export { withMounts } from "./with-mounts.js";
