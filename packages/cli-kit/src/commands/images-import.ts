import { createReadStream } from "node:fs";
import { defaultSnapshotterFor, hostPlatform, parsePlatform } from "@berth/oci";
import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { CtrCommand } from "../command.js";
import { snapshotterFlag } from "../flags.js";
import { aliases, parseLabels } from "../words.js";

export class ImagesImport extends CtrCommand {
  static override summary = "import images";
  static override streamsLayers = true;
  static override description = `Import images from a tar stream.
Implemented formats:
- oci.v1
- docker.v1.1
- docker.v1.2

For OCI v1, you may need to specify --base-name because an OCI archive may
contain only partial image references (tags without the base image name).
If no base image name is provided, a name will be generated as "import-%{yyyy-MM-dd}".

e.g.
  $ ctr images import --base-name foo/bar foobar.tar

If foobar.tar contains an OCI ref named "latest" and anonymous ref "sha256:deadbeef", the command will create
"foo/bar:latest" and "foo/bar@sha256:deadbeef" images in the containerd store.`;
  static override usage = "images import [flags] <in>";
  static override aliases = aliases(["images", "image", "i"], ["import"]);
  static override args = { in: Args.string({ required: true, description: "the archive to read ('-' for standard input)" }) };
  static override flags = {
    "base-name": Flags.string({ description: "base image name for added images, when provided only images with this name prefix are imported" }),
    "index-name": Flags.string({ description: "image name to keep index as, by default index is discarded" }),
    "all-platforms": Flags.boolean({ description: "imports content for all platforms, false by default" }),
    platform: Flags.string({ description: "imports content for specific platform" }),
    "no-unpack": Flags.boolean({ description: "skip unpacking the images, cannot be used with --discard-unpacked-layers, false by default" }),
    label: Flags.string({ multiple: true, multipleNonGreedy: true, description: "labels to attach to the image" }),
    ...snapshotterFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(this.ctor as typeof ImagesImport);
    const client = await this.connect(flags);
    const { importImages, unpackImage } = await import("@berth/client");
    const platform = flags.platform ? parsePlatform(flags.platform) : hostPlatform();
    const input = args.in === "-" ? process.stdin : createReadStream(args.in);
    const images = await importImages(client, input, {
      ...(flags.platform ? { platforms: [platform] } : {}),
      allPlatforms: flags["all-platforms"],
      ...(flags["base-name"] ? { baseName: flags["base-name"] } : {}),
      ...(flags["index-name"] ? { indexName: flags["index-name"] } : {}),
      labels: parseLabels(flags.label ?? []),
    });
    if (flags["no-unpack"]) return;
    for (const image of images) {
      if (image.name === flags["index-name"]) continue;
      this.print(`unpacking ${image.name} (${image.target.digest})...`);
      await unpackImage(client, image.target, { platform, snapshotter: flags.snapshotter || defaultSnapshotterFor() });
      this.print("done\n");
    }
  }
}
