import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { CtrCommand } from "@berth/cli-kit";

export class Install extends CtrCommand {
  static override summary = "install a new package";
  static override description =
    "Installs the files directly under `bin/` (and `lib/` with --libs) of an image's layers into the daemon's opt directory (its `opt` plugin's path) or --path.";
  static override usage = "install [flags] <ref>";
  static override args = { ref: Args.string({ required: true, description: "the image to install from" }) };
  static override flags = {
    libs: Flags.boolean({ char: "l", description: "install libs from the image" }),
    replace: Flags.boolean({ char: "r", description: "replace any binaries or libs in the opt directory" }),
    path: Flags.string({ description: "set an optional install path other than the managed opt directory" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Install);
    const client = await this.connect(flags);
    const { installImage } = await import("@berth/client");
    await installImage(client, args.ref, { libs: flags.libs, replace: flags.replace, ...(flags.path ? { path: flags.path } : {}) });
  }
}
