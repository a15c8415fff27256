import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { aliases, CtrCommand } from "@berth/cli-kit";

export class LeasesRemove extends CtrCommand {
  static override summary = "remove leases";
  static override aliases = aliases(["leases"], ["delete", "del", "remove", "rm"]);
  static override strict = false;
  static override args = { id: Args.string({ required: true, description: "lease id" }) };
  static override flags = { sync: Flags.boolean({ description: "synchronously remove leases and all unreferenced resources" }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(LeasesRemove);
    const client = await this.connect(flags);
    for (const id of argv as string[]) {
      await client.leases.delete(client.context(), id, flags.sync);
      this.print(`${id}\n`);
    }
  }
}
