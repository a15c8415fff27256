import { createWriteStream } from "node:fs";
import { parsePlatform } from "@berth/oci";
import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { CtrCommand } from "../command.js";
import { aliases } from "../words.js";

export class ImagesExport extends CtrCommand {
  static override summary = "export images";
  static override streamsLayers = true;
  static override description = `Export images to an OCI tar archive.

Tar output is formatted as an OCI archive, a Docker manifest is provided for the platform.
Use '--skip-manifest-json' to avoid including the Docker manifest.json file.
Use '--platform' to define the output platform.
When '--all-platforms' is given all images in a manifest list must be available.`;
  static override usage = "images export [flags] <out> <image> ...";
  static override aliases = aliases(["images", "image", "i"], ["export"]);
  static override strict = false;
  static override args = {
    out: Args.string({ required: true, description: "the archive to write ('-' for standard output)" }),
    image: Args.string({ required: true, description: "image references" }),
  };
  static override flags = {
    "skip-manifest-json": Flags.boolean({ description: "do not add Docker compatible manifest.json to archive" }),
    "skip-non-distributable": Flags.boolean({ description: "do not add non-distributable blobs such as Windows layers to archive" }),
    platform: Flags.string({ multiple: true, multipleNonGreedy: true, description: "Pull content from a specific platform" }),
    "all-platforms": Flags.boolean({ description: "exports content from all platforms" }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(this.ctor as typeof ImagesExport);
    const [out, ...names] = argv as string[];
    const client = await this.connect(flags);
    const { exportImages } = await import("@berth/client");
    const output = out === "-" ? process.stdout : createWriteStream(out!);
    await exportImages(client, names, output, {
      ...(flags.platform ? { platforms: flags.platform.map(parsePlatform) } : {}),
      allPlatforms: flags["all-platforms"],
      skipDockerManifest: flags["skip-manifest-json"],
    });
  }
}
