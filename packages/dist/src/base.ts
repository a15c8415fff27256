import { CtrCommand, type FetchFlagValues, fetchWithProgress } from "@berth/ctr/cli";
import type { Image } from "@berth/api";
import type { Client, Platform } from "@berth/client";

export type { FetchFlagValues } from "@berth/ctr/cli";
export { fetchFlags } from "@berth/ctr/cli";

/** dist's commands: ctr's global options and error reporting, plus fetching with the seed transcript's progress display. */
export abstract class DistCommand extends CtrCommand {
  /** Fetches and records `ref` (no unpack), drawing a progress bar per descriptor. */
  protected fetchImage(client: Client, ref: string, flags: FetchFlagValues): Promise<{ image: Image; platforms: Platform[] }> {
    return fetchWithProgress(client, ref, flags);
  }
}
