import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { aliases, CtrCommand, labelList, progressBytes, tabwriter } from "@berth/cli-kit";

export class ImagesList extends CtrCommand {
  static override summary = "list images known to containerd";
  static override aliases = aliases(["images", "image", "i"], ["list", "ls"]);
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
    const { describeImages } = await import("@berth/client/images");
    const summaries = await describeImages(
      client.content,
      client.context(),
      images.map((image) => image.target),
    );
    const rows = ["REF\tTYPE\tDIGEST\tSIZE\tPLATFORMS\tLABELS\t"];
    for (const [index, image] of images.entries()) {
      const { size, platforms } = summaries[index]!;
      const platformText = platforms.length === 0 ? "-" : platforms.join(",");
      rows.push(`${image.name}\t${image.target.mediaType}\t${image.target.digest}\t${progressBytes(size)}\t${platformText}\t${labelList(image.labels)}\t`);
    }
    this.print(tabwriter(rows));
  }
}
