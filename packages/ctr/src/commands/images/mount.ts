import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { defaultSnapshotterFor, hostPlatform, parsePlatform } from "@berth/oci";
import { aliases, CtrCommand, snapshotterFlag } from "@berth/cli-kit";

export class ImagesMount extends CtrCommand {
  static override summary = "mount an image to a target path";
  static override description =
    "Mount an image rootfs to a specified path: the image is unpacked if need be, and a view (or with --rw an active snapshot) of its top chain ID, keyed and leased by the target path, is mounted there.";
  static override usage = "images mount [flags] <ref> <target>";
  static override aliases = aliases(["images", "image", "i"], ["mount"]);
  static override args = {
    ref: Args.string({ required: true, description: "image reference" }),
    target: Args.string({ required: true, description: "mount point" }),
  };
  static override flags = {
    ...snapshotterFlag,
    rw: Flags.boolean({ description: "Enable write support on the mount" }),
    platform: Flags.string({ description: "Mount the image for the specified platform" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImagesMount);
    const client = await this.connect(flags);
    const { isKind } = await import("@berth/api");
    const { unpackImage } = await import("@berth/client");
    const { mountAll } = await import("@berth/mount");
    const snapshotterName = flags.snapshotter || defaultSnapshotterFor();
    const context = { namespace: client.namespace, lease: args.target };
    // As ctr: a lease named by the target holds the snapshot until unmount --rm (or a day).
    try {
      await client.leases.create(client.context(), {
        id: args.target,
        labels: {
          "containerd.io/gc.expire": new Date(Date.now() + 86_400_000).toISOString(),
          [`containerd.io/gc.ref.snapshot.${snapshotterName}`]: args.target,
        },
      });
    } catch (error) {
      if (!isKind(error, "AlreadyExists")) throw error;
    }
    const image = await client.images.get(client.context(), args.ref);
    const rootfs = await unpackImage(client, image.target, {
      platform: flags.platform ? parsePlatform(flags.platform) : hostPlatform(),
      snapshotter: snapshotterName,
    });
    this.print(`${rootfs.chainId}\n`);
    const snapshotter = client.snapshotter(snapshotterName);
    let mounts;
    try {
      mounts = flags.rw ? await snapshotter.prepare(context, args.target, rootfs.chainId) : await snapshotter.view(context, args.target, rootfs.chainId);
    } catch (error) {
      if (!isKind(error, "AlreadyExists")) throw error;
      mounts = await snapshotter.mounts(context, args.target);
    }
    try {
      await mountAll(mounts, args.target);
    } catch (error) {
      await snapshotter
        .remove(context, args.target)
        .catch((cleanup: Error) => process.stderr.write(`Error cleaning up snapshot after mount error: ${cleanup.message}\n`));
      throw error;
    }
    this.print(`${args.target}\n`);
  }
}
