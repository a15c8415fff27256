import * as Args from "@oclif/core/args";
import { aliases, CtrCommand } from "@berth/cli-kit";
import { commandLineAfter } from "../../words.js";
import { containerFlags, createFromFlags } from "./shared.js";

export class ContainersCreate extends CtrCommand {
  static override summary = "create container";
  static override usage = "containers create [flags] Image|RootFS CONTAINER [COMMAND] [ARG...]";
  static override aliases = aliases(["containers", "container", "c"], ["create"]);
  static override strict = false;
  static override args = { ref: Args.string({ description: "image reference" }), id: Args.string({ description: "container id" }) };
  static override flags = containerFlags;

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(ContainersCreate, commandLineAfter(this.argv, 2, ContainersCreate.flags));
    // With --config the spec file holds everything: the only argument is the container's id.
    const id = flags.config ? args.ref : args.id;
    if (!flags.config && !args.ref) throw new Error("image ref must be provided");
    if (!id) throw new Error("container id must be provided");
    const client = await this.connect(flags);
    await createFromFlags(client, flags, args.ref ?? "", id, (argv as string[]).slice(2));
  }
}
