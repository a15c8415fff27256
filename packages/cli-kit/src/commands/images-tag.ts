import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { CtrCommand } from "../command.js";
import { aliases } from "../words.js";

export class ImagesTag extends CtrCommand {
  static override summary = "tag an image";
  static override description =
    "Tag an image for use in containerd: records the source image's target and labels under each target reference, printing each as it is made. A target that exists is an error unless --force, which replaces it.";
  static override usage = "images tag [flags] <source_ref> <target_ref> [<target_ref>, ...]";
  static override aliases = aliases(["images", "image", "i"], ["tag"]);
  static override strict = false;
  static override args = {
    source: Args.string({ description: "the image to tag" }),
    target: Args.string({ description: "the new reference(s)" }),
  };
  static override flags = {
    force: Flags.boolean({ description: "force target_ref to be created, regardless if it already exists" }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(this.ctor as typeof ImagesTag);
    const [source, ...targets] = argv as string[];
    if (source === undefined || source === "") throw new Error("please provide an image reference to tag from");
    if (targets.length === 0) throw new Error("please provide an image reference to tag to");
    const client = await this.connect(flags);
    const { tagImage } = await import("@berth/client");
    await tagImage(client, source, targets, { force: flags.force, tagged: (name) => this.print(`${name}\n`) });
  }
}
