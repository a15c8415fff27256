/**
 * @berth/client/images: pulling, unpacking and summarizing images, without push, archives, checkpoints
 * or OCI specs, for ctr's image commands (which start often). The same functions as `@berth/client`'s.
 */
import type * as PullModule from "./pull.js";

export type { ImageSummary } from "./image-summary.js";
export { describeImage, describeImages } from "./image-summary.js";
export type { PullOptions } from "./pull.js";

/**
 * `pull` of `@berth/client`, loaded with its first call: the registry client and the local pull's
 * helpers are not needed by a pull through the daemon's Transfer service, which ctr tries first.
 */
export async function pull(...args: Parameters<typeof PullModule.pull>): ReturnType<typeof PullModule.pull> {
  const local = await import("./pull.js");
  return local.pull(...args);
}
export type { TransferPullOptions } from "./transfer.js";
export { transferPull } from "./transfer.js";
export { unpackImage } from "./unpack.js";
export { ProgressBoard } from "./progress.js";
