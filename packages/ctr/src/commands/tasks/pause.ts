import * as Args from "@oclif/core/args";
import { aliases, CtrCommand } from "@berth/cli-kit";
import { loadTask, taskTopics } from "./shared.js";

export class TasksPause extends CtrCommand {
  static override summary = "pause an existing container";
  static override aliases = aliases(taskTopics, ["pause"]);
  static override args = { id: Args.string({ required: true, description: "container id" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TasksPause);
    const client = await this.connect(flags);
    await loadTask(client, args.id);
    await client.tasks.pause(client.context(), args.id);
  }
}

export class TasksResume extends CtrCommand {
  static override summary = "resume a paused container";
  static override aliases = aliases(taskTopics, ["resume"]);
  static override args = { id: Args.string({ required: true, description: "container id" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TasksResume);
    const client = await this.connect(flags);
    await loadTask(client, args.id);
    await client.tasks.resume(client.context(), args.id);
  }
}
