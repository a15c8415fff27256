import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { defaultSnapshotterFor, hostPlatform, parsePlatform } from "@berth/oci";
import { CtrCommand, fetchFlags, fetchWithProgress, logInfo, snapshotterFlag } from "@berth/cli-kit";

export class Pull extends CtrCommand {
  static override summary = "pull an image from a remote";
  static override streamsLayers = true;
  static override description = "Fetch an image with a progress bar per descriptor, record it, and unpack its rootfs into the snapshotter: a fetch followed by an unpack per platform.";
  static override usage = "pull [flags] <ref>";
  static override args = { ref: Args.string({ required: true, description: "a fully qualified reference, e.g. docker.io/library/redis:latest" }) };
  static override flags = {
    ...fetchFlags,
    ...snapshotterFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Pull);
    const client = await this.connect(flags);
    const { describeImage, unpackImage } = await import("@berth/client");
    // Layers are unpacked while the others are fetched; the unpack below finds them there.
    const { image, platforms: wanted } = await fetchWithProgress(client, args.ref, flags, flags.snapshotter || defaultSnapshotterFor());
    let platforms = wanted;
    if (flags["all-platforms"]) platforms = (await describeImage(client.content, client.context(), image.target)).platforms.map(parsePlatform);
    if (platforms.length === 0) platforms = [hostPlatform()];
    logInfo("unpacking rootfs");
    for (const platform of platforms) {
      const rootfs = await unpackImage(client, image.target, { platform, snapshotter: flags.snapshotter || defaultSnapshotterFor() });
      logInfo(`Unpacked chain id: ${rootfs.chainId}`);
    }
  }
}
