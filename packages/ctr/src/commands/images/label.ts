import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { aliases, CtrCommand, labelList, parseLabels } from "@berth/cli-kit";

export class ImagesLabel extends CtrCommand {
  static override summary = "set and clear labels for an image";
  static override usage = "images label [flags] <name> [<key>=<value>, ...]";
  static override aliases = aliases(["images", "image", "i"], ["label"]);
  static override strict = false;
  static override args = { name: Args.string({ required: true, description: "image name" }) };
  static override flags = { "replace-all": Flags.boolean({ char: "r", description: "replace all labels" }) };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(ImagesLabel);
    const labels = parseLabels((argv as string[]).slice(1));
    const client = await this.connect(flags);
    const current = await client.images.get(client.context(), args.name);
    const paths = flags["replace-all"] ? ["labels"] : Object.keys(labels).map((key) => `labels.${key}`);
    const image = await client.images.update(client.context(), { name: args.name, labels, target: current.target }, paths);
    this.print(`${labelList(image.labels, "")}\n`);
  }
}
