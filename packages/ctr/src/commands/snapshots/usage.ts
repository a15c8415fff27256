import * as Args from "@oclif/core/args";
import { CtrCommand, progressBytes, snapshotterFlag, tabwriter } from "@berth/cli-kit";
import { defaultSnapshotter, snapshotAliases } from "./shared.js";

export class SnapshotsUsage extends CtrCommand {
  static override summary = "usage snapshots";
  static override aliases = snapshotAliases(["usage"]);
  static override strict = false;
  static override args = { key: Args.string() };
  static override flags = snapshotterFlag;

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(SnapshotsUsage);
    const client = await this.connect(flags);
    const snapshotter = client.snapshotter(flags.snapshotter || defaultSnapshotter);
    let keys = argv as string[];
    if (keys.length === 0) {
      keys = [];
      for await (const info of snapshotter.list(client.context(), [])) keys.push(info.name);
    }
    const rows = ["KEY\tSIZE\tINODES\t"];
    for (const key of keys) {
      const usage = await snapshotter.usage(client.context(), key);
      rows.push(`${key}\t${progressBytes(usage.size)}\t${usage.inodes}\t`);
    }
    this.print(tabwriter(rows));
  }
}
