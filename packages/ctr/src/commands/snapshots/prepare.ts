import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import type { Mount } from "@berth/api";
import type { Client } from "@berth/client";
import { CtrCommand, snapshotterFlag } from "@berth/cli-kit";
import { rfc3339Seconds } from "../../format/go-values.js";
import { defaultSnapshotter, mountCommand, snapshotAliases } from "./shared.js";

const createFlags = {
  ...snapshotterFlag,
  target: Flags.string({ char: "t", description: "mount target path, will print mount, if provided" }),
  mounts: Flags.boolean({ description: "Print out snapshot mounts as JSON" }),
};

type CreateFlags = { snapshotter?: string | undefined; target?: string | undefined; mounts: boolean };

/** Makes the snapshot, a GC root stamped with when it was made (as ctr does), and says what ctr says. */
async function create(client: Client, kind: "prepare" | "view", key: string, parent: string, flags: CreateFlags): Promise<string> {
  const labels = { "containerd.io/gc.root": rfc3339Seconds() };
  const snapshotter = client.snapshotter(flags.snapshotter || defaultSnapshotter);
  const mounts: Mount[] =
    kind === "prepare" ? await snapshotter.prepare(client.context(), key, parent, labels) : await snapshotter.view(client.context(), key, parent, labels);
  let text = flags.target ? mounts.map((m) => mountCommand(m, flags.target!)).join("") : "";
  if (flags.mounts)
    text += `${JSON.stringify(
      mounts.map((m) => ({ Type: m.type, Source: m.source, Options: m.options })),
      null,
      4,
    )}\n`;
  return text;
}

export class SnapshotsPrepare extends CtrCommand {
  static override summary = "prepare a snapshot from a committed snapshot";
  static override usage = "snapshots prepare [flags] <key> [<parent>]";
  static override aliases = snapshotAliases(["prepare"]);
  static override args = { key: Args.string({ required: true }), parent: Args.string() };
  static override flags = createFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SnapshotsPrepare);
    this.print(await create(await this.connect(flags), "prepare", args.key, args.parent ?? "", flags));
  }
}

export class SnapshotsView extends CtrCommand {
  static override summary = "create a read-only snapshot from a committed snapshot";
  static override usage = "snapshots view [flags] <key> [<parent>]";
  static override aliases = snapshotAliases(["view"]);
  static override args = { key: Args.string({ required: true }), parent: Args.string() };
  static override flags = createFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SnapshotsView);
    this.print(await create(await this.connect(flags), "view", args.key, args.parent ?? "", flags));
  }
}
