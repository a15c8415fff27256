import { randomBytes } from "node:crypto";
import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import type { CallContext, Mount } from "@berth/api";
import type { SnapshotsProxy } from "@berth/client";
import { mediaTypes } from "@berth/oci";
import { CtrCommand, parseLabels, snapshotterFlag } from "@berth/cli-kit";
import { defaultSnapshotter, snapshotAliases } from "./shared.js";

/** The mounts of snapshot `key`: its own when active, else those of a temporary view, removed after `use`. */
async function withMounts<T>(
  snapshotter: SnapshotsProxy,
  context: CallContext,
  key: string,
  viewKey: string,
  use: (mounts: Mount[]) => Promise<T>,
): Promise<T> {
  const info = await snapshotter.stat(context, key);
  if (info.kind === "active") return use(await snapshotter.mounts(context, key));
  const mounts = await snapshotter.view(context, viewKey, key);
  try {
    return await use(mounts);
  } finally {
    await snapshotter.remove(context, viewKey).catch(() => undefined);
  }
}

export class SnapshotsDiff extends CtrCommand {
  static override summary = "get the diff of two snapshots. the default second snapshot is the first snapshot's parent.";
  static override description =
    "Makes a layer of the changes between two snapshots through the Diff service (Compare) and writes the layer's bytes to stdout. With one snapshot, the changes from its parent. The layer stays in the content store only with --keep (a GC root).";
  static override usage = "snapshots diff [flags] <idA> [<idB>]";
  static override aliases = snapshotAliases(["diff"]);
  static override args = { idA: Args.string({ required: true }), idB: Args.string() };
  static override flags = {
    ...snapshotterFlag,
    "media-type": Flags.string({ description: "media type to use for creating diff", default: mediaTypes.ociLayerGzip }),
    ref: Flags.string({ description: "content upload reference to use" }),
    keep: Flags.boolean({ description: "keep diff content. up to creator to delete it." }),
    label: Flags.string({ multiple: true, multipleNonGreedy: true, description: "labels to attach to the image" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SnapshotsDiff);
    const client = await this.connect(flags);
    const { withLease } = await import("@berth/client");
    const labels = parseLabels(flags.label ?? []);
    if (flags.keep) labels["containerd.io/gc.root"] = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const options = { mediaType: flags["media-type"], ref: flags.ref ?? "", labels };
    const snapshotter = client.snapshotter(flags.snapshotter || defaultSnapshotter);
    const unique = () => randomBytes(8).toString("hex");
    await withLease(client, async (context) => {
      let layer;
      if (args.idB === undefined) {
        // rootfs.CreateDiff: from a view of the parent to the snapshot itself.
        const { parent } = await snapshotter.stat(context, args.idA);
        const lowerKey = `${parent}-parent-view-${unique()}`;
        const lower = await snapshotter.view(context, lowerKey, parent);
        try {
          layer = await withMounts(snapshotter, context, args.idA, `${args.idA}-view-${unique()}`, (upper) => client.diff.diff(context, lower, upper, options));
        } finally {
          await snapshotter.remove(context, lowerKey).catch(() => undefined);
        }
      } else {
        layer = await withMounts(snapshotter, context, args.idA, `${args.idA}-view-key`, (a) =>
          withMounts(snapshotter, context, args.idB!, `${args.idB}-view-key`, (b) => client.diff.diff(context, a, b, options)),
        );
      }
      for await (const chunk of client.content.read(context, layer.digest)) {
        if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once("drain", resolve));
      }
    });
  }
}
