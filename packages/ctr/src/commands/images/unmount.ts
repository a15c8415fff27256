import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { defaultSnapshotterFor } from "@berth/oci";
import { aliases, CtrCommand, snapshotterFlag } from "@berth/cli-kit";

export class ImagesUnmount extends CtrCommand {
  static override summary = "unmount the image from the target";
  static override description = "Unmount the image rootfs from the specified path; with --rm also remove its snapshot and the lease that held it.";
  static override usage = "images unmount [flags] <target>";
  static override aliases = aliases(["images", "image", "i"], ["unmount"]);
  static override args = { target: Args.string({ required: true, description: "mount point" }) };
  static override flags = {
    ...snapshotterFlag,
    rm: Flags.boolean({ description: "remove the snapshot after a successful unmount" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImagesUnmount);
    const client = await this.connect(flags);
    const { isKind } = await import("@berth/api");
    const { unmountAll } = await import("@berth/mount");
    await unmountAll(args.target);
    if (flags.rm) {
      try {
        await client.leases.delete(client.context(), args.target);
      } catch (error) {
        if (!isKind(error, "NotFound")) throw new Error(`error deleting lease: ${(error as Error).message}`);
      }
      try {
        await client.snapshotter(flags.snapshotter || defaultSnapshotterFor()).remove(client.context(), args.target);
      } catch (error) {
        if (!isKind(error, "NotFound")) throw new Error(`error removing snapshot: ${(error as Error).message}`);
      }
    }
    this.print(`${args.target}\n`);
  }
}
