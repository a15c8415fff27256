import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { aliases, CtrCommand, tabwriter } from "@berth/cli-kit";

export class ContainersList extends CtrCommand {
  static override summary = "list containers";
  static override usage = "containers list [flags] [<filter>, ...]";
  static override aliases = aliases(["containers", "container", "c"], ["list", "ls"]);
  static override strict = false;
  static override args = { filters: Args.string({ description: "filters, e.g. labels.tier==web" }) };
  static override flags = { quiet: Flags.boolean({ char: "q", description: "print only the container id" }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ContainersList);
    const client = await this.connect(flags);
    const containers = await client.containers.list(client.context(), argv as string[]);
    if (flags.quiet) {
      this.print(containers.map((c) => `${c.id}\n`).join(""));
      return;
    }
    const rows = containers.map((c) => `${c.id}\t${c.image || "-"}\t${c.runtime.name}\t`);
    this.print(tabwriter(["CONTAINER\tIMAGE\tRUNTIME\t", ...rows], 4, 4));
  }
}
