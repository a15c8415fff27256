import * as Args from "@oclif/core/args";
import { CtrCommand, fetchFlags, fetchWithProgress } from "@berth/cli-kit";

export class Fetch extends CtrCommand {
  static override summary = "fetch all content for an image into containerd";
  static override streamsLayers = true;
  static override description = "Fetch an image into the content store and record it, without unpacking: every blob of the chosen platforms, with a progress bar per descriptor.";
  static override usage = "fetch [flags] <ref>";
  static override args = { ref: Args.string({ required: true, description: "a fully qualified reference, e.g. docker.io/library/redis:latest" }) };
  static override flags = fetchFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Fetch);
    await fetchWithProgress(await this.connect(flags), args.ref, flags);
  }
}
