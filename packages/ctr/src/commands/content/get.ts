import * as Args from "@oclif/core/args";
import { aliases, CtrCommand } from "@berth/cli-kit";

export class ContentGet extends CtrCommand {
  static override summary = "get the data for an object";
  static override streamsLayers = true;
  static override aliases = aliases(["content"], ["get"]);
  static override args = { digest: Args.string({ required: true, description: "digest of the blob" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContentGet);
    const client = await this.connect(flags);
    for await (const chunk of client.content.read(client.context(), args.digest)) {
      if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once("drain", resolve));
    }
  }
}
