import { Args } from "@oclif/core";
import { registryFlags, resolverOptions } from "@berth/ctr/cli";
import { DistCommand } from "../base.js";
import { logInfo } from "../log.js";

export class FetchObject extends DistCommand {
  static override summary = "retrieve objects from a remote";
  static override description = "Resolve a reference (a tag, or `name@digest` for any manifest or blob) and write the object, digest-verified, to standard output. Talks only to the registry.";
  static override usage = "fetch-object [flags] <ref>";
  static override args = { ref: Args.string({ required: true, description: "e.g. docker.io/library/redis:latest or docker.io/library/redis@sha256:…" }) };
  static override flags = registryFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(FetchObject);
    const { Resolver } = await import("@berth/remotes");
    const resolver = new Resolver(resolverOptions(flags));
    try {
      logInfo("resolving");
      const { descriptor } = await resolver.resolve(args.ref);
      logInfo("fetching");
      for await (const chunk of resolver.fetcher(args.ref).fetch(descriptor)) {
        if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once("drain", resolve));
      }
    } finally {
      await resolver.close();
    }
  }
}
