import { CtrCommand, type FetchFlagValues, fetchWithProgress } from "@berth/ctr/cli";
import type { Image } from "@berth/api";
import type { Client } from "@berth/client";
import type { Platform } from "@berth/oci";

export type { FetchFlagValues } from "@berth/ctr/cli";
export { fetchFlags } from "@berth/ctr/cli";

/** dist's commands: ctr's global options and error reporting, plus fetching with the seed transcript's progress display. */
export abstract class DistCommand extends CtrCommand {
  /**
   * Fetches and records `ref`, drawing a progress bar per descriptor; with `unpack` (a snapshotter),
   * each layer is unpacked as soon as it and its parent are there.
   */
  protected fetchImage(client: Client, ref: string, flags: FetchFlagValues, unpack: string | false = false): Promise<{ image: Image; platforms: Platform[] }> {
    return fetchWithProgress(client, ref, flags, unpack);
  }
}
