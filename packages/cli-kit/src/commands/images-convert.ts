import { hostPlatform, parsePlatform } from "@berth/oci";
import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { CtrCommand } from "../command.js";
import { aliases } from "../words.js";

export class ImagesConvert extends CtrCommand {
  static override summary = "convert an image";
  static override description = `Convert an image format.

e.g., 'ctr convert --uncompress --oci example.com/foo:orig example.com/foo:converted'

Use '--platform' to define the output platform.
When '--all-platforms' is given all images in a manifest list must be available.`;
  static override usage = "images convert [flags] <source_ref> <target_ref>";
  static override aliases = aliases(["images", "image", "i"], ["convert"]);
  static override args = {
    source: Args.string({ description: "the image to convert" }),
    target: Args.string({ description: "the reference of the converted image" }),
  };
  static override flags = {
    uncompress: Flags.boolean({ description: "convert tar.gz layers to uncompressed tar layers" }),
    oci: Flags.boolean({ description: "convert Docker media types to OCI media types" }),
    platform: Flags.string({ multiple: true, multipleNonGreedy: true, description: "Pull content from a specific platform" }),
    "all-platforms": Flags.boolean({ description: "exports content from all platforms" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(this.ctor as typeof ImagesConvert);
    if (!args.source || !args.target) throw new Error("src and target image need to be specified");
    const { convertImage } = await import("@berth/client");
    // As ctr: this host's platform unless told otherwise; --all-platforms keeps every one.
    const platforms = flags["all-platforms"] ? undefined : flags.platform?.length ? flags.platform.map(parsePlatform) : [hostPlatform()];
    const client = await this.connect(flags);
    const image = await convertImage(client, args.source, args.target, { platforms, uncompress: flags.uncompress, dockerToOci: flags.oci });
    this.print(`${image.target.digest}\n`);
  }
}
