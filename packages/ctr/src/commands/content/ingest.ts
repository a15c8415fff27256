import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { aliases, CtrCommand } from "@berth/cli-kit";

export class ContentIngest extends CtrCommand {
  static override summary = "accept content into the store";
  static override streamsLayers = true;
  static override description =
    "Ingest objects into the content store from standard input. An interrupted ingest resumes where it stopped when run again with the same key.";
  static override aliases = aliases(["content"], ["ingest"]);
  static override args = { key: Args.string({ required: true, description: "the ingest's ref" }) };
  static override flags = {
    "expected-size": Flags.integer({ description: "validate against provided size", default: 0 }),
    "expected-digest": Flags.string({ description: "verify content against expected digest", default: "" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContentIngest);
    const client = await this.connect(flags);
    const writer = await client.content.writer(client.context(), { ref: args.key, total: flags["expected-size"], expected: flags["expected-digest"] });
    try {
      // Resume: skip what the store already has of this ref.
      let skip = (await writer.status()).offset;
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
        const data = skip >= chunk.length ? Buffer.alloc(0) : chunk.subarray(skip);
        skip = Math.max(0, skip - chunk.length);
        if (data.length > 0) await writer.write(data);
      }
      await writer.commit(flags["expected-size"], flags["expected-digest"]);
    } finally {
      await writer.close();
    }
  }
}
