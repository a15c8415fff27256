import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { aliases, CtrCommand } from "@berth/cli-kit";
import { runTask } from "../../process/run-task.js";
import { fifoDirFlag, fifoRoot, taskTopics } from "./shared.js";

export class TasksStart extends CtrCommand {
  static override summary = "start a container that has been created";
  static override aliases = aliases(taskTopics, ["start"]);
  static override args = { id: Args.string({ required: true, description: "container id" }) };
  static override flags = {
    "null-io": Flags.boolean({ description: "send all IO to /dev/null" }),
    "log-uri": Flags.string({ description: "log uri" }),
    ...fifoDirFlag,
    "pid-file": Flags.string({ description: "file path to write the task's pid" }),
    detach: Flags.boolean({ char: "d", description: "detach from the task after it has started execution" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TasksStart);
    const client = await this.connect(flags);
    const container = await client.containers.get(client.context(), args.id);
    const code = await runTask(client, container, {
      detach: flags.detach,
      nullIo: flags["null-io"],
      logUri: flags["log-uri"],
      fifoDir: await fifoRoot(flags["fifo-dir"]),
      pidFile: flags["pid-file"],
    });
    if (code !== 0) this.exit(code);
  }
}
