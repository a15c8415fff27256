import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { dateFromTimestamp } from "@berth/api";
import { aliases, CtrCommand, labelList, tabwriter } from "@berth/cli-kit";
import { rfc3339Seconds } from "../../format/go-values.js";

export class LeasesList extends CtrCommand {
  static override summary = "list all active leases";
  static override aliases = aliases(["leases"], ["list", "ls"]);
  static override strict = false;
  static override args = { filters: Args.string({ description: "filters, e.g. labels.foo==bar" }) };
  static override flags = { quiet: Flags.boolean({ char: "q", description: "print only the lease id" }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(LeasesList);
    const client = await this.connect(flags);
    const leases = await client.leases.list(client.context(), argv as string[]);
    if (flags.quiet) {
      this.print(leases.map((lease) => `${lease.id}\n`).join(""));
      return;
    }
    const created = (lease: (typeof leases)[number]) => rfc3339Seconds(dateFromTimestamp(lease.createdAt));
    this.print(tabwriter(["ID\tCREATED AT\tLABELS\t", ...leases.map((lease) => `${lease.id}\t${created(lease)}\t${labelList(lease.labels, "")}\t`)]));
  }
}
