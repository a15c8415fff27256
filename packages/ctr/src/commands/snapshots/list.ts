import * as Args from "@oclif/core/args";
import { CtrCommand, snapshotterFlag, tabwriter } from "@berth/cli-kit";
import { defaultSnapshotter, kindTitle, snapshotAliases } from "./shared.js";

export class SnapshotsList extends CtrCommand {
  static override summary = "list snapshots";
  static override aliases = snapshotAliases(["list", "ls"]);
  static override strict = false;
  static override args = { filters: Args.string({ description: "filters, e.g. kind==committed" }) };
  static override flags = snapshotterFlag;

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(SnapshotsList);
    const client = await this.connect(flags);
    const rows = ["KEY\tPARENT\tKIND\t"];
    for await (const info of client.snapshotter(flags.snapshotter || defaultSnapshotter).list(client.context(), argv as string[])) {
      rows.push(`${info.name}\t${info.parent}\t${kindTitle[info.kind]}\t`);
    }
    this.print(tabwriter(rows));
  }
}

/** `ctr snapshot list` as containerd's 2017 report showed it: ID, parent, state and whether it is read-only. */
export class SnapshotListSeed extends CtrCommand {
  static override summary = "list snapshots with their state and whether they are read-only";
  static override flags = snapshotterFlag;

  async run(): Promise<void> {
    const { flags } = await this.parse(SnapshotListSeed);
    const client = await this.connect(flags);
    const rows = ["ID\tParent\tState\tReadonly\t"];
    for await (const info of client.snapshotter(flags.snapshotter || defaultSnapshotter).list(client.context(), [])) {
      rows.push(`${info.name}\t${info.parent}\t${info.kind}\t${info.kind !== "active"}\t`);
    }
    this.print(tabwriter(rows));
  }
}
