import * as Args from "@oclif/core/args";
import { goRfc3339Nano } from "../../format/go-values.js";
import { CtrCommand, snapshotterFlag } from "@berth/cli-kit";
import { defaultSnapshotter, kindTitle, snapshotAliases } from "./shared.js";

export class SnapshotsInfo extends CtrCommand {
  static override summary = "get info about a snapshot";
  static override aliases = snapshotAliases(["info"]);
  static override args = { key: Args.string({ required: true }) };
  static override flags = snapshotterFlag;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SnapshotsInfo);
    const client = await this.connect(flags);
    const info = await client.snapshotter(flags.snapshotter || defaultSnapshotter).stat(client.context(), args.key);
    // Go's encoding of containerd's snapshots.Info: empty parent and labels left out.
    const out: Record<string, unknown> = { Kind: kindTitle[info.kind], Name: info.name };
    if (info.parent !== "") out.Parent = info.parent;
    if (Object.keys(info.labels).length > 0) out.Labels = info.labels;
    out.Created = goRfc3339Nano(info.createdAt);
    out.Updated = goRfc3339Nano(info.updatedAt);
    this.print(`${JSON.stringify(out, null, 4)}\n`);
  }
}
