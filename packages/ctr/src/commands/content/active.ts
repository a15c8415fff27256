import * as Args from "@oclif/core/args";
import { dateFromTimestamp } from "@berth/api";
import { aliases, CtrCommand, humanDuration, humanSize, tabwriter } from "@berth/cli-kit";

export class ContentActive extends CtrCommand {
  static override summary = "display active transfers";
  static override aliases = aliases(["content"], ["active"]);
  static override args = { filter: Args.string({ description: "a filter on ref, e.g. ref~=^layer-" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContentActive);
    const client = await this.connect(flags);
    const filters = args.filter ? [args.filter] : [];
    const now = Date.now();
    const rows = ["REF\tSIZE\tAGE\t"];
    for (const status of await client.content.listStatuses(client.context(), filters)) {
      rows.push(`${status.ref}\t${humanSize(status.offset)}\t${humanDuration(now - dateFromTimestamp(status.startedAt).getTime())}\t`);
    }
    this.print(tabwriter(rows, 1, 1, "\t"));
  }
}
