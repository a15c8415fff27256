import { ShimManager as CoreShimManager, type ShimManagerOptions as CoreShimManagerOptions, type ShimPlatform } from "@berth/runtime";
import { linuxShimPlatform } from "./linux-platform.js";

/** The core's options, the platform being Linux's unless given. */
export interface ShimManagerOptions extends Omit<CoreShimManagerOptions, "platform"> {
  readonly platform?: ShimPlatform;
}

/** The shim v2 manager of @berth/runtime with the Linux seam (what berthd runs on Linux). */
export type ShimManager = CoreShimManager;
export const ShimManager = {
  open: (options: ShimManagerOptions): Promise<ShimManager> => CoreShimManager.open({ ...options, platform: options.platform ?? linuxShimPlatform }),
};
