import * as Args from "@oclif/core/args";
import { aliases, CtrCommand } from "@berth/cli-kit";

export class ContentRemove extends CtrCommand {
  static override summary = "permanently delete one or more blobs";
  static override description = "Delete one or more blobs permanently. Successfully deleted blobs are printed to stdout.";
  static override aliases = aliases(["content"], ["delete", "del", "remove", "rm"]);
  static override strict = false;
  static override args = { digest: Args.string({ required: true, description: "digest of a blob" }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ContentRemove);
    const client = await this.connect(flags);
    const { isKind } = await import("@berth/api");
    let failure: unknown;
    for (const digest of argv as string[]) {
      try {
        await client.content.delete(client.context(), digest);
        this.print(`${digest}\n`);
      } catch (error) {
        // As ctr: a blob that is already gone is not an error, but is not printed either.
        if (!isKind(error, "NotFound")) failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }
}
