import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { CtrCommand, progressBytes, tabwriter } from "@berth/cli-kit";

export class ImagesList extends CtrCommand {
  static override summary = "list images known to containerd";
  static override description = "The seed's layout: reference, media type, digest and the image's full size for this platform.";
  static override usage = "images ls [flags] [<filter>, ...]";
  static override aliases = ["images:list", "images"];
  static override strict = false;
  static override args = { filters: Args.string({ description: "filters, e.g. name==docker.io/library/redis:latest" }) };
  static override flags = { quiet: Flags.boolean({ char: "q", description: "print only the image refs" }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ImagesList);
    const client = await this.connect(flags);
    const images = await client.images.list(client.context(), argv as string[]);
    if (flags.quiet) {
      this.print(images.map((image) => `${image.name}\n`).join(""));
      return;
    }
    const { describeImage } = await import("@berth/client");
    const rows = ["REF\tTYPE\tDIGEST\tSIZE\t"];
    for (const image of images) {
      const { size } = await describeImage(client.content, client.context(), image.target);
      rows.push(`${image.name}\t${image.target.mediaType}\t${image.target.digest}\t${progressBytes(size)}\t`);
    }
    this.print(tabwriter(rows));
  }
}
