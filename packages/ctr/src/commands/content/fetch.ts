import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { type Platform, parsePlatform } from "@berth/oci";
import { CtrCommand, fetchFlags, fetchWithProgress } from "@berth/cli-kit";

/** `content fetch`'s own: manifests and configs of platforms whose layers are not fetched. */
const metadataFlags = {
  "all-metadata": Flags.boolean({ description: "Pull metadata for all platforms" }),
  "metadata-only": Flags.boolean({ description: "Pull all metadata including manifests and configs" }),
};

export class ContentFetch extends CtrCommand {
  static override summary = "fetch all content for an image into containerd";
  static override streamsLayers = true;
  static override description =
    "Fetch an image into containerd: every blob of the chosen platforms goes into the content store and the image is recorded, with ctr's progress display; nothing is unpacked.";
  static override usage = "content fetch [flags] <remote> <object>";
  static override args = { ref: Args.string({ required: true, description: "a fully qualified reference, e.g. docker.io/library/redis:latest" }) };
  static override flags = { ...fetchFlags, ...metadataFlags };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContentFetch);
    await fetchWithProgress(await this.connect(flags), args.ref, flags);
  }
}
