import * as Args from "@oclif/core/args";
import { aliases, CtrCommand, labelList, parseLabels } from "@berth/cli-kit";

export class ContainersLabel extends CtrCommand {
  static override summary = "set and clear labels for a container";
  static override usage = "containers label <container> [<key>=<value>, ...]";
  static override aliases = aliases(["containers", "container", "c"], ["label"]);
  static override strict = false;
  static override args = { id: Args.string({ required: true, description: "container id" }) };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(ContainersLabel);
    const labels = parseLabels((argv as string[]).slice(1));
    const client = await this.connect(flags);
    const current = await client.containers.get(client.context(), args.id);
    const paths = Object.keys(labels).map((key) => `labels.${key}`);
    const updated = paths.length === 0 ? current : await client.containers.update(client.context(), { ...current, labels }, paths);
    this.print(`${labelList(updated.labels, "")}\n`);
  }
}
