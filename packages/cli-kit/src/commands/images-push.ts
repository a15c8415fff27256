import { mediaTypes, parsePlatform } from "@berth/oci";
import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { CtrCommand } from "../command.js";
import { ProgressPrinter, type RenderOptions } from "../format/progress.js";
import { aliases } from "../words.js";
import { registryFlags, resolverOptions } from "../flags.js";

export class ImagesPush extends CtrCommand {
  static override summary = "push an image to a remote";
  static override streamsLayers = true;
  static override description =
    "Pushes an image reference from containerd: every blob, then the manifests, then the index, children first; blobs that came from another repository of the same registry are mounted from it.";
  static override usage = "images push [flags] <remote> [<local>]";
  static override aliases = aliases(["images", "image", "i"], ["push"]);
  static override args = {
    remote: Args.string({ required: true, description: "the reference to push to" }),
    local: Args.string({ description: "the local image to push (default: the remote reference)" }),
  };
  static override flags = {
    ...registryFlags,
    manifest: Flags.string({ description: "digest of manifest" }),
    "manifest-type": Flags.string({ description: "media type of manifest digest", default: mediaTypes.dockerManifest }),
    platform: Flags.string({ multiple: true, multipleNonGreedy: true, description: "push content from a specific platform" }),
  };

  /** Words stock ctr's push display uses: anything finished is "done". */
  protected readonly words: RenderOptions["words"] = { exists: "done", mounted: "done" };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(this.ctor as typeof ImagesPush);
    const client = await this.connect(flags);
    const { ProgressBoard, push } = await import("@berth/client");
    let target;
    if (flags.manifest) {
      const info = await client.content.info(client.context(), flags.manifest);
      target = { mediaType: flags["manifest-type"], digest: info.digest, size: info.size };
    } else {
      target = (await client.images.get(client.context(), args.local ?? args.remote)).target;
    }
    const board = new ProgressBoard(args.remote);
    const printer = new ProgressPrinter(() => board.snapshot(), process.stdout, { header: false, words: this.words });
    try {
      await push(client, args.remote, target, {
        ...resolverOptions(flags),
        ...(flags.platform ? { platforms: flags.platform.map(parsePlatform) } : {}),
        progress: board.listener,
      });
    } finally {
      printer.stop();
    }
  }
}
