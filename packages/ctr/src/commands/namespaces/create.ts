import * as Args from "@oclif/core/args";
import { aliases, CtrCommand, parseLabels } from "@berth/cli-kit";

export class NamespacesCreate extends CtrCommand {
  static override summary = "create a new namespace";
  static override description = "Create a new namespace. It must be unique.";
  static override usage = "namespaces create <name> [<key>=<value>...]";
  static override aliases = aliases(["namespaces", "namespace", "ns"], ["create", "c"]);
  static override strict = false;
  static override args = { name: Args.string({ required: true, description: "namespace name" }) };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(NamespacesCreate);
    const labels = parseLabels((argv as string[]).slice(1));
    const client = await this.connect(flags);
    await client.namespaces.create(client.context(), { name: args.name, labels });
  }
}
