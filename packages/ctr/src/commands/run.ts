import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { CtrCommand } from "@berth/cli-kit";
import { containerNetwork } from "../process/cni-network.js";
import { runTask } from "../process/run-task.js";
import { commandLineAfter } from "../words.js";
import { containerFlags, createFromFlags, runOnlyFlags } from "./containers/shared.js";
import { fifoDirFlag, fifoRoot } from "./tasks/shared.js";

export class Run extends CtrCommand {
  static override summary = "run a container";
  static override usage = "run [flags] Image|RootFS ID [COMMAND] [ARG...]";
  static override strict = false;
  static override args = { ref: Args.string({ description: "image reference" }), id: Args.string({ description: "container id" }) };
  static override flags = {
    rm: Flags.boolean({ description: "remove the container after running, cannot be used with --detach" }),
    "null-io": Flags.boolean({ description: "send all IO to /dev/null" }),
    detach: Flags.boolean({ char: "d", description: "detach from the task after it has started execution, cannot be used with --rm" }),
    ...fifoDirFlag,
    ...runOnlyFlags,
    ...containerFlags,
  };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(Run, commandLineAfter(this.argv, 2, Run.flags));
    // With --config the spec file holds everything: the only argument is the container's id.
    const id = flags.config ? args.ref : args.id;
    if (!flags.config && !args.ref) throw new Error("image ref must be provided");
    if (!id) throw new Error("container id must be provided");
    if (flags.rm && flags.detach) throw new Error("flags --detach and --rm cannot be specified together");
    const client = await this.connect(flags);
    const container = await createFromFlags(client, flags, args.ref ?? "", id, (argv as string[]).slice(2));
    let code: number;
    try {
      // As ctr 1.6, the network config is read after the container is made (so --rm removes it on failure too).
      const network = flags.cni ? await containerNetwork(client.namespace, container.id) : undefined;
      code = await runTask(client, container, {
        network,
        detach: flags.detach,
        nullIo: flags["null-io"],
        logUri: flags["log-uri"],
        fifoDir: await fifoRoot(flags["fifo-dir"]),
        pidFile: flags["pid-file"],
        taskOptions: { noPivotRoot: flags["no-pivot"], ioUid: flags.uidmap, ioGid: flags.gidmap },
      });
    } finally {
      if (flags.rm) {
        await client
          .snapshotter(container.snapshotter)
          .remove(client.context(), container.snapshotKey)
          .catch(() => undefined);
        await client.containers.delete(client.context(), container.id).catch(() => undefined);
      }
    }
    if (code !== 0) this.exit(code);
  }
}
