import { Args, Flags } from "@oclif/core";
import { defaultSnapshotterFor, hostPlatform, parsePlatform, platformText } from "@berth/oci";
import { aliases, CtrCommand, parseLabels, ProgressPrinter, registryFlags, resolverOptions, snapshotterFlag } from "@berth/cli-kit";
import { goDuration } from "../../format/go-values.js";

export class ImagesPull extends CtrCommand {
  static override summary = "pull an image from a remote";
  static override streamsLayers = true;
  static override description =
    "Fetch and prepare an image for use in containerd: all its content for the chosen platform goes into the content store, the image is recorded, and its layers are unpacked into the snapshotter.";
  static override usage = "images pull [flags] <ref>";
  static override aliases = aliases(["images", "image", "i"], ["pull"]);
  static override args = { ref: Args.string({ required: true, description: "a fully qualified reference, e.g. docker.io/library/busybox:latest" }) };
  static override flags = {
    ...registryFlags,
    platform: Flags.string({ multiple: true, multipleNonGreedy: true, description: "pull content for a specific platform" }),
    "all-platforms": Flags.boolean({ description: "pull content and metadata from all platforms" }),
    label: Flags.string({ multiple: true, multipleNonGreedy: true, description: "labels to attach to the image" }),
    ...snapshotterFlag,
    "print-chainid": Flags.boolean({ description: "print the resulting image's chain ID" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImagesPull);
    const client = await this.connect(flags);
    const { ProgressBoard, describeImage, pull, unpackImage } = await import("@berth/client/images");
    const wanted = (flags.platform ?? []).map(parsePlatform);
    const board = new ProgressBoard(args.ref);
    const printer = new ProgressPrinter(() => board.snapshot());
    let image;
    try {
      image = await pull(client, args.ref, {
        ...resolverOptions(flags),
        ...(wanted.length > 0 ? { platforms: wanted } : {}),
        allPlatforms: flags["all-platforms"],
        labels: parseLabels(flags.label ?? []),
        // Each layer is unpacked as soon as it and its parent are there; the unpack below finds them there.
        unpack: flags.snapshotter || defaultSnapshotterFor(),
        progress: board.listener,
        resolved: () => board.markResolved(),
      });
    } finally {
      printer.stop();
    }
    // As ctr: every platform of the image with --all-platforms, else those asked for, else this host's.
    let platforms = wanted;
    if (flags["all-platforms"]) platforms = (await describeImage(client.content, client.context(), image.target)).platforms.map(parsePlatform);
    if (platforms.length === 0) platforms = [hostPlatform()];
    const started = process.hrtime.bigint();
    for (const platform of platforms) {
      this.print(`unpacking ${platformText(platform)} ${image.target.digest}...\n`);
      const rootfs = await unpackImage(client, image.target, { platform, snapshotter: flags.snapshotter || defaultSnapshotterFor() });
      if (flags["print-chainid"]) this.print(`image chain ID: ${rootfs.chainId}\n`);
    }
    this.print(`done: ${goDuration(process.hrtime.bigint() - started)}\t\n`);
  }
}
