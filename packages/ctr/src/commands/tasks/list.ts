import * as Flags from "@oclif/core/flags";
import { aliases, CtrCommand, tabwriter } from "@berth/cli-kit";
import { taskTopics } from "./shared.js";

export class TasksList extends CtrCommand {
  static override summary = "list tasks";
  static override aliases = aliases(taskTopics, ["list", "ls"]);
  static override flags = { quiet: Flags.boolean({ char: "q", description: "print only the task id" }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(TasksList);
    const client = await this.connect(flags);
    const tasks = await client.tasks.list(client.context());
    if (flags.quiet) {
      this.print(tasks.map((task) => `${task.id}\n`).join(""));
      return;
    }
    this.print(tabwriter(["TASK\tPID\tSTATUS\t", ...tasks.map((task) => `${task.id}\t${task.pid}\t${task.status.toUpperCase()}`)], 4, 4));
  }
}
