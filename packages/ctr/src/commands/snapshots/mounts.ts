import * as Args from "@oclif/core/args";
import { CtrCommand, snapshotterFlag } from "@berth/cli-kit";
import { defaultSnapshotter, mountCommand, snapshotAliases } from "./shared.js";

export class SnapshotsMounts extends CtrCommand {
  static override summary = "mount gets mount commands for the snapshots";
  static override usage = "snapshots mounts <target> <key>";
  static override aliases = snapshotAliases(["mounts", "m", "mount"]);
  static override args = { target: Args.string({ required: true }), key: Args.string({ required: true }) };
  static override flags = snapshotterFlag;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SnapshotsMounts);
    const client = await this.connect(flags);
    const mounts = await client.snapshotter(flags.snapshotter || defaultSnapshotter).mounts(client.context(), args.key);
    this.print(mounts.map((m) => mountCommand(m, args.target)).join(""));
  }
}
