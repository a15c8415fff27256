import { ShimManager as CoreShimManager, type ShimManagerOptions as CoreShimManagerOptions, type ShimPlatform } from "@berth/runtime";
import { linuxShimPlatform, linuxShimPlatformWithSpares } from "./linux-platform.js";

/** The core's options, the platform being Linux's unless given. */
export interface ShimManagerOptions extends Omit<CoreShimManagerOptions, "platform"> {
  readonly platform?: ShimPlatform;
  /**
   * How many of Berth's shim servers to keep started ahead of need (with Linux's platform): a
   * namespace's first task then finds its server booted. 0 (the default): none.
   */
  readonly spareShims?: number;
}

/** The shim v2 manager of @berth/runtime with the Linux seam (what berthd runs on Linux). */
export type ShimManager = CoreShimManager;
export const ShimManager = {
  open: async (options: ShimManagerOptions): Promise<ShimManager> => {
    const platform = options.platform ?? linuxPlatform(options);
    try {
      return await CoreShimManager.open({ ...options, platform });
    } catch (error) {
      platform.close?.();
      throw error;
    }
  },
};

/** Linux's platform, with spares of Berth's shim when asked for; the manager's close ends them. */
function linuxPlatform(options: ShimManagerOptions): ShimPlatform {
  const count = options.spareShims ?? 0;
  return count > 0 ? linuxShimPlatformWithSpares({ ...options, count }) : linuxShimPlatform;
}
