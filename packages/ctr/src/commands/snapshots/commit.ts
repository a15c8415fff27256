import * as Args from "@oclif/core/args";
import { CtrCommand, snapshotterFlag } from "@berth/cli-kit";
import { rfc3339Seconds } from "../../format/go-values.js";
import { defaultSnapshotter, snapshotAliases } from "./shared.js";

export class SnapshotsCommit extends CtrCommand {
  static override summary = "commit an active snapshot into the provided name";
  static override usage = "snapshots commit [flags] <key> <active>";
  static override aliases = snapshotAliases(["commit"]);
  static override args = { name: Args.string({ required: true }), key: Args.string({ required: true }) };
  static override flags = snapshotterFlag;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SnapshotsCommit);
    const client = await this.connect(flags);
    const labels = { "containerd.io/gc.root": rfc3339Seconds() };
    await client.snapshotter(flags.snapshotter || defaultSnapshotter).commit(client.context(), args.name, args.key, labels);
  }
}
