import * as Args from "@oclif/core/args";
import { CtrCommand } from "../command.js";
import { parseDigest } from "../words.js";
import { registryFlags, resolverOptions } from "../flags.js";

export class ContentPushObject extends CtrCommand {
  static override summary = "push an object to a remote";
  static override streamsLayers = true;
  static override description =
    "Push one blob of the content store, by digest and with the given media type, to the repository of a reference (a manifest type is pushed as the reference's tag). A blob the registry already has is an error, as in stock ctr.";
  static override usage = "content push-object [flags] <remote> <object> <type>";
  static override args = {
    remote: Args.string({ required: true, description: "the reference to push to" }),
    object: Args.string({ required: true, description: "digest of the blob" }),
    type: Args.string({ required: true, description: "its media type" }),
  };
  static override flags = registryFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(this.ctor as typeof ContentPushObject);
    parseDigest(args.object);
    const client = await this.connect(flags);
    const { withLease } = await import("@berth/client");
    const { Resolver } = await import("@berth/remotes");
    const resolver = new Resolver(resolverOptions(flags));
    try {
      await withLease(client, async (context) => {
        const info = await client.content.info(context, args.object);
        const descriptor = { mediaType: args.type, digest: info.digest, size: info.size };
        const result = await resolver.pusher(args.remote).push(descriptor, client.content.read(context, info.digest));
        if (result === "exists") throw new Error(`content ${info.digest} on remote: already exists`);
        this.print(`Pushed ${descriptor.digest} ${descriptor.mediaType}\n`);
      });
    } finally {
      await resolver.close();
    }
  }
}
