import * as Args from "@oclif/core/args";
import { aliases, CtrCommand, labelList, parseLabels } from "@berth/cli-kit";

export class ContentLabel extends CtrCommand {
  static override summary = "add labels to content";
  static override usage = "content label <digest> [<label>=<value> ...]";
  static override aliases = aliases(["content"], ["label"]);
  static override strict = false;
  static override args = { digest: Args.string({ required: true, description: "digest of the blob" }) };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(ContentLabel);
    const labels = parseLabels((argv as string[]).slice(1));
    const client = await this.connect(flags);
    const paths = Object.keys(labels).map((key) => `labels.${key}`);
    const info = await client.content.update(client.context(), { digest: args.digest, labels }, paths);
    this.print(`${labelList(info.labels, "")}\n`);
  }
}
