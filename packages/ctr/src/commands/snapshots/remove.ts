import * as Args from "@oclif/core/args";
import { CtrCommand, snapshotterFlag } from "@berth/cli-kit";
import { defaultSnapshotter, snapshotAliases } from "./shared.js";

export class SnapshotsRemove extends CtrCommand {
  static override summary = "remove snapshots";
  static override aliases = snapshotAliases(["delete", "del", "remove", "rm"]);
  static override strict = false;
  static override args = { key: Args.string({ required: true }) };
  static override flags = snapshotterFlag;

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(SnapshotsRemove);
    const client = await this.connect(flags);
    const snapshotter = client.snapshotter(flags.snapshotter || defaultSnapshotter);
    for (const key of argv as string[]) {
      try {
        await snapshotter.remove(client.context(), key);
      } catch (error) {
        throw new Error(`failed to remove ${JSON.stringify(key)}: ${(error as Error).message}`);
      }
    }
  }
}
