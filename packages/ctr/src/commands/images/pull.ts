import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { isKind } from "@berth/api";
import { type Platform, defaultSnapshotterFor, hostPlatform, parsePlatform, platformText } from "@berth/oci";
import { aliases, CtrCommand, parseLabels, ProgressPrinter, registryFlags, resolverOptions, snapshotterFlag } from "@berth/cli-kit";
import { goDuration } from "../../format/go-values.js";

export class ImagesPull extends CtrCommand {
  static override summary = "pull an image from a remote";
  static override streamsLayers = true;
  static override description =
    "Fetch and prepare an image for use in containerd: all its content for the chosen platform goes into the content store, the image is recorded, and its layers are unpacked into the snapshotter.\n\n" +
    "When the daemon serves containerd's Transfer service (berthd, containerd 1.7+), the daemon pulls the image itself and credentials given with --user are sent only when the registry asks for them; " +
    "against a daemon without it (containerd 1.6) the pull runs here, as does a pull with --local or --skip-verify (which the Transfer service cannot express).";
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
    local: Flags.boolean({ description: "fetch content from the registry in this process, not through the daemon's Transfer service" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImagesPull);
    const connecting = this.connect(flags);
    // Loaded while the connection is made: the daemon answers the HTTP/2 handshake meanwhile.
    const helpers = import("@berth/client/images");
    helpers.catch(() => undefined); // awaited once connected
    const client = await connecting;
    const { ProgressBoard, describeImage, pull, transferPull, unpackImage } = await helpers;
    const wanted = (flags.platform ?? []).map(parsePlatform);
    const snapshotter = flags.snapshotter || defaultSnapshotterFor();
    const board = new ProgressBoard(args.ref);
    const printer = new ProgressPrinter(() => board.snapshot());
    const registry = resolverOptions(flags);
    const progress = { progress: board.listener, resolved: () => board.markResolved() };
    let image;
    let transferred = false;
    try {
      transferred =
        !flags.local &&
        !flags["skip-verify"] &&
        (await pulledByDaemon(() =>
          transferPull(client, args.ref, {
            // Without --all-platforms, this host's platform (an empty list means every platform).
            platforms: flags["all-platforms"] ? [] : wanted.length > 0 ? wanted : [hostPlatform()],
            unpackPlatforms: wanted.length > 0 ? wanted : [hostPlatform()],
            unpack: snapshotter,
            labels: parseLabels(flags.label ?? []),
            plainHttp: registry.plainHttp,
            ...(registry.hostsDir !== undefined ? { hostsDir: registry.hostsDir } : {}),
            ...(registry.credentials !== undefined ? { credentials: registry.credentials } : {}),
            ...progress,
          }),
        ));
      image = transferred
        ? await client.images.get(client.context(), args.ref)
        : await pull(client, args.ref, {
            ...registry,
            ...(wanted.length > 0 ? { platforms: wanted } : {}),
            allPlatforms: flags["all-platforms"],
            labels: parseLabels(flags.label ?? []),
            // Each layer is unpacked as soon as it and its parent are there; the unpack below finds them there.
            unpack: snapshotter,
            ...progress,
          });
    } finally {
      printer.stop();
    }
    // As ctr: every platform of the image with --all-platforms, else those asked for, else this host's.
    let platforms: Platform[] = wanted;
    if (flags["all-platforms"]) platforms = (await describeImage(client.content, client.context(), image.target)).platforms.map(parsePlatform);
    if (platforms.length === 0) platforms = [hostPlatform()];
    // A Transfer has unpacked the platforms it was given, which without --all-platforms are these:
    // looking again would cost five calls to learn nothing, unless the chain ID is to be printed.
    const unpackedByDaemon = transferred && !flags["all-platforms"] && !flags["print-chainid"];
    const started = process.hrtime.bigint();
    for (const platform of platforms) {
      this.print(`unpacking ${platformText(platform)} ${image.target.digest}...\n`);
      if (unpackedByDaemon) continue;
      const rootfs = await unpackImage(client, image.target, { platform, snapshotter });
      if (flags["print-chainid"]) this.print(`image chain ID: ${rootfs.chainId}\n`);
    }
    this.print(`done: ${goDuration(process.hrtime.bigint() - started)}\t\n`);
  }
}

/** Runs `transfer`; false when the daemon cannot (containerd 1.6 has no Transfer service), so that the pull runs here instead. */
async function pulledByDaemon(transfer: () => Promise<void>): Promise<boolean> {
  try {
    await transfer();
    return true;
  } catch (error) {
    if (isKind(error, "NotImplemented")) return false;
    throw error;
  }
}
