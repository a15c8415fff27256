import * as Args from "@oclif/core/args";
import { CtrCommand } from "../command.js";
import { registryFlags, resolverOptions } from "../flags.js";

export class ContentFetchObject extends CtrCommand {
  static override summary = "retrieve objects from a remote";
  static override streamsLayers = true;
  static override description =
    "Resolve a reference (a tag, or `name@digest` for any manifest or blob) and write the object, digest-verified, to standard output. Talks only to the registry.";
  static override usage = "content fetch-object [flags] <remote> <object> [<hint>, ...]";
  static override strict = false;
  static override args = { ref: Args.string({ required: true, description: "e.g. docker.io/library/redis:latest or docker.io/library/redis@sha256:…" }) };
  static override flags = registryFlags;

  /** What the command is doing; stock ctr logs it only at debug level, dist says it. */
  protected announce(_message: string): void {}

  async run(): Promise<void> {
    const { args, flags } = await this.parse(this.ctor as typeof ContentFetchObject);
    const { Resolver } = await import("@berth/remotes");
    const resolver = new Resolver(resolverOptions(flags));
    try {
      this.announce("resolving");
      const { descriptor } = await resolver.resolve(args.ref);
      this.announce("fetching");
      for await (const chunk of resolver.fetcher(args.ref).fetch(descriptor)) {
        if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once("drain", resolve));
      }
    } finally {
      await resolver.close();
    }
  }
}
