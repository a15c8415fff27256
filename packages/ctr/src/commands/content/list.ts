import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { dateFromTimestamp } from "@berth/api";
import { aliases, CtrCommand, humanDuration, humanSize, labelList, tabwriter } from "@berth/cli-kit";

export class ContentList extends CtrCommand {
  static override summary = "list all blobs in the store";
  static override aliases = aliases(["content"], ["list", "ls"]);
  static override strict = false;
  static override args = { filters: Args.string({ description: "filters, e.g. labels.foo==bar" }) };
  static override flags = { quiet: Flags.boolean({ char: "q", description: "print only the blob digest" }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ContentList);
    const client = await this.connect(flags);
    const rows = flags.quiet ? [] : ["DIGEST\tSIZE\tAGE\tLABELS"];
    const now = Date.now();
    for await (const info of client.content.list(client.context(), argv as string[])) {
      if (flags.quiet) rows.push(info.digest);
      else rows.push(`${info.digest}\t${humanSize(info.size)}\t${humanDuration(now - dateFromTimestamp(info.createdAt).getTime())}\t${labelList(info.labels)}`);
    }
    this.print(flags.quiet ? rows.map((row) => `${row}\n`).join("") : tabwriter(rows, 1, 1, "\t"));
  }
}
