import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { aliases, CtrCommand } from "@berth/cli-kit";
import { loadTask, stopSignal, taskTopics } from "./shared.js";

export class TasksKill extends CtrCommand {
  static override summary = "signal a container (default: SIGTERM)";
  static override aliases = aliases(taskTopics, ["kill"]);
  static override args = { id: Args.string({ required: true, description: "container id" }) };
  static override flags = {
    signal: Flags.string({ char: "s", description: "signal to send to the container" }),
    "exec-id": Flags.string({ description: "process ID to kill" }),
    all: Flags.boolean({ char: "a", description: "send signal to all processes inside the container" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TasksKill);
    if (flags.all && flags["exec-id"]) throw new Error("specify an exec-id or all; not both");
    const client = await this.connect(flags);
    const { parseSignal } = await import("../../process/signals.js");
    const signal = flags.signal ? parseSignal(flags.signal) : await stopSignal(client, args.id);
    await loadTask(client, args.id);
    await client.tasks.kill(client.context(), args.id, signal, { execId: flags["exec-id"] ?? "", all: flags.all });
  }
}
