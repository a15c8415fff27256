import * as Args from "@oclif/core/args";
import { CtrCommand, parseDigest, snapshotterFlag } from "@berth/cli-kit";
import { snapshotAliases } from "./shared.js";

export class SnapshotsUnpack extends CtrCommand {
  static override summary = "unpack applies layers from a manifest to a snapshot";
  static override description = "Finds the image whose target is the given digest and unpacks it (this platform's layers) into the snapshotter.";
  static override usage = "snapshots unpack [flags] <digest>";
  static override aliases = snapshotAliases(["unpack"]);
  static override args = { digest: Args.string({ description: "the target digest of an image" }) };
  static override flags = snapshotterFlag;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SnapshotsUnpack);
    const digest = parseDigest(args.digest);
    const client = await this.connect(flags);
    const { defaultSnapshotter, unpackImage } = await import("@berth/client");
    const image = (await client.images.list(client.context(), [])).find((candidate) => candidate.target.digest === digest);
    if (image === undefined) throw new Error("manifest not found");
    this.print(`unpacking ${digest} (${image.target.mediaType})...`);
    try {
      await unpackImage(client, image.target, { snapshotter: flags.snapshotter || (await defaultSnapshotter(client, client.context())) });
    } catch (error) {
      this.print("\n");
      throw error;
    }
    this.print("done\n");
  }
}
