import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { aliases, CtrCommand } from "@berth/cli-kit";
import { loadTask, taskTopics } from "./shared.js";

export class TasksCheckpoint extends CtrCommand {
  static override summary = "checkpoint a container";
  static override usage = "tasks checkpoint [flags] CONTAINER";
  static override aliases = aliases(taskTopics, ["checkpoint"]);
  static override args = { id: Args.string({ description: "container id" }) };
  static override flags = {
    exit: Flags.boolean({ description: "stop the container after the checkpoint" }),
    "image-path": Flags.string({ description: "path to criu image files" }),
    "work-path": Flags.string({ description: "path to criu work files and logs" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TasksCheckpoint);
    if (!args.id) throw new Error("container id must be provided");
    const { checkpointTask } = await import("@berth/client");
    const client = await this.connect(flags);
    await loadTask(client, args.id);
    const container = await client.containers.get(client.context(), args.id);
    // As ctr: the runc CheckpointOptions go only to runc tasks.
    const runc = container.runtime.name === "io.containerd.runc.v1" || container.runtime.name === "io.containerd.runc.v2";
    const criu = { exit: flags.exit, imagePath: flags["image-path"] ?? "", workPath: flags["work-path"] ?? "" };
    const name = await checkpointTask(client, client.context(), args.id, runc ? { criu } : {});
    if (name !== undefined) this.print(`${name}\n`);
  }
}
