import * as Args from "@oclif/core/args";
import { CtrCommand, labelList, parseLabels, snapshotterFlag } from "@berth/cli-kit";
import { defaultSnapshotter, snapshotAliases } from "./shared.js";

export class SnapshotsLabel extends CtrCommand {
  static override summary = "add labels to content";
  static override usage = "snapshots label <name> [<label>=<value> ...]";
  static override aliases = snapshotAliases(["label"]);
  static override strict = false;
  static override args = { key: Args.string({ required: true }) };
  static override flags = snapshotterFlag;

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(SnapshotsLabel);
    const labels = parseLabels((argv as string[]).slice(1));
    const client = await this.connect(flags);
    const paths = Object.keys(labels).map((key) => `labels.${key}`);
    const info = await client.snapshotter(flags.snapshotter || defaultSnapshotter).update(client.context(), { name: args.key, labels }, paths);
    this.print(`${labelList(info.labels, "")}\n`);
  }
}
