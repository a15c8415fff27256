/**
 * @berth/client/images: pulling, unpacking and summarizing images, without push, archives, checkpoints
 * or OCI specs, for ctr's image commands (which start often). The same functions as `@berth/client`'s.
 */
export type { ImageSummary } from "./image-summary.js";
export { describeImage, describeImages } from "./image-summary.js";
export type { PullOptions } from "./pull.js";
export { pull } from "./pull.js";
export type { TransferPullOptions } from "./transfer.js";
export { transferPull } from "./transfer.js";
export { unpackImage } from "./unpack.js";
export { ProgressBoard } from "./progress.js";
