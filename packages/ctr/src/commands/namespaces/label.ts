import * as Args from "@oclif/core/args";
import { aliases, CtrCommand, parseLabels } from "@berth/cli-kit";

export class NamespacesLabel extends CtrCommand {
  static override summary = "set and clear labels for a namespace";
  static override description = "Set and clear labels for a namespace. To clear a label, give its key with no value.";
  static override usage = "namespaces label <name> [<key>=<value>, ...]";
  static override aliases = aliases(["namespaces", "namespace", "ns"], ["label"]);
  static override strict = false;
  static override args = { name: Args.string({ required: true, description: "namespace name" }) };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(NamespacesLabel);
    const labels = parseLabels((argv as string[]).slice(1));
    const client = await this.connect(flags);
    for (const [key, value] of Object.entries(labels)) {
      await client.namespaces.update(client.context(), { name: args.name, labels: { [key]: value } }, [`labels.${key}`]);
    }
  }
}
