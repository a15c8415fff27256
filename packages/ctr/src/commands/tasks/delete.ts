import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { aliases, CtrCommand } from "@berth/cli-kit";
import { logrusLine } from "../../format/logrus.js";
import { deleteTask, loadTask, taskTopics } from "./shared.js";

export class TasksDelete extends CtrCommand {
  static override summary = "delete one or more tasks";
  static override usage = "tasks delete [flags] CONTAINER [CONTAINER, ...]";
  static override aliases = aliases(taskTopics, ["delete", "del", "remove", "rm"]);
  static override strict = false;
  static override args = { id: Args.string({ required: true, description: "container id" }) };
  static override flags = {
    force: Flags.boolean({ char: "f", description: "force delete task process" }),
    "exec-id": Flags.string({ description: "process ID to kill" }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(TasksDelete);
    const client = await this.connect(flags);
    const ids = argv as string[];
    const execId = flags["exec-id"];
    if (execId) {
      await loadTask(client, ids[0]!);
      const { removeFifos } = await import("@berth/client");
      const process = await client.tasks.get(client.context(), ids[0]!, execId);
      if (process.status === "running" || process.status === "paused" || process.status === "pausing")
        throw new Error(`current process state: ${process.status}, process must be stopped before deletion`);
      const deleted = await client.tasks.deleteProcess(client.context(), ids[0]!, execId);
      await removeFifos(process);
      if (deleted.exitStatus !== 0) this.exit(deleted.exitStatus);
      return;
    }
    let failure: unknown;
    for (const id of ids) {
      try {
        await loadTask(client, id);
      } catch (error) {
        failure ??= error;
        process.stderr.write(logrusLine("error", `failed to load task from ${id}`, { error: (error as Error).message }));
        continue;
      }
      try {
        const deleted = await deleteTask(client, id, { force: flags.force });
        if (deleted.exitStatus !== 0) process.stderr.write(logrusLine("warning", `task ${id} exit with non-zero exit code ${deleted.exitStatus}`));
      } catch (error) {
        failure ??= error;
        process.stderr.write(logrusLine("error", `unable to delete ${id}`, { error: (error as Error).message }));
      }
    }
    if (failure !== undefined) throw failure;
  }
}
