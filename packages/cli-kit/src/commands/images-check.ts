import { defaultSnapshotterFor } from "@berth/oci";
import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { CtrCommand } from "../command.js";
import { tabwriter } from "../format/tabwriter.js";
import { progressBytes } from "../format/units.js";
import { snapshotterFlag } from "../flags.js";
import { aliases } from "../words.js";

export class ImagesCheck extends CtrCommand {
  static override summary = "check existing images to ensure all content is available locally";
  static override aliases = aliases(["images", "image", "i"], ["check"]);
  static override strict = false;
  static override args = { filters: Args.string({ description: "filters, e.g. name==docker.io/library/redis:latest" }) };
  static override flags = {
    quiet: Flags.boolean({ char: "q", description: "print only the ready image refs (fully downloaded and unpacked)" }),
    ...snapshotterFlag,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ImagesCheck);
    const client = await this.connect(flags);
    const { checkImage, isUnpacked } = await import("@berth/client");
    const snapshotter = flags.snapshotter || defaultSnapshotterFor();
    const rows = ["REF\tTYPE\tDIGEST\tSTATUS\tSIZE\tUNPACKED\t"];
    const ready: string[] = [];
    for (const image of await client.images.list(client.context(), argv as string[])) {
      const check = await checkImage(client.content, client.context(), image.target);
      const complete = check.available && check.missing.length === 0;
      const sum = (list: readonly { size: number }[]) => list.reduce((total, d) => total + d.size, 0);
      const unpacked = await isUnpacked(client, client.context(), image, snapshotter);
      if (complete && unpacked) ready.push(image.name);
      const status = `${complete ? "complete" : "incomplete"} (${check.present.length}/${check.required.length})`;
      rows.push(
        `${image.name}\t${image.target.mediaType}\t${image.target.digest}\t${status}\t${progressBytes(sum(check.present))}/${progressBytes(sum(check.required))}\t${unpacked}`,
      );
    }
    this.print(flags.quiet ? ready.map((name) => `${name}\n`).join("") : tabwriter(rows));
  }
}
