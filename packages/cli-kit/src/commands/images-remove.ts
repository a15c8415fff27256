import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { CtrCommand } from "../command.js";
import { aliases } from "../words.js";

export class ImagesRemove extends CtrCommand {
  static override summary = "remove one or more images by reference";
  static override aliases = aliases(["images", "image", "i"], ["delete", "del", "remove", "rm"]);
  static override strict = false;
  static override args = { ref: Args.string({ required: true, description: "image reference" }) };
  static override flags = { sync: Flags.boolean({ description: "Synchronously remove image and all associated resources" }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ImagesRemove);
    const client = await this.connect(flags);
    const { isKind } = await import("@berth/api");
    let failure: unknown;
    for (const name of argv as string[]) {
      try {
        await client.images.delete(client.context(), name, flags.sync);
        this.print(`${name}\n`);
      } catch (error) {
        if (!isKind(error, "NotFound")) failure ??= error;
        process.stderr.write(`ERRO unable to delete ${name}: ${(error as Error).message}\n`);
      }
    }
    if (failure !== undefined) throw failure;
  }
}
