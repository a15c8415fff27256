import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import type { Client } from "@berth/client";
import { aliases, CtrCommand } from "@berth/cli-kit";
import { logrusLine } from "../../format/logrus.js";
import { deleteTask, processStatusText } from "../tasks/shared.js";

/**
 * ctr's deleteContainer: a stopped (or created) task goes first, a running one refuses; then the
 * snapshot (unless kept; one already gone is fine) and the record.
 */
async function deleteContainer(client: Client, id: string, keepSnapshot: boolean): Promise<void> {
  const { isKind } = await import("@berth/api");
  const context = client.context();
  const container = await client.containers.get(context, id);
  const task = await client.tasks.get(context, id).catch(() => undefined);
  if (task !== undefined) {
    if (task.status !== "stopped" && task.status !== "created") throw new Error(`cannot delete a non stopped container: ${processStatusText(task)}`);
    await deleteTask(client, id);
  }
  if (!keepSnapshot && container.snapshotKey !== "" && container.snapshotter !== "") {
    await client
      .snapshotter(container.snapshotter)
      .remove(context, container.snapshotKey)
      .catch((error: unknown) => {
        if (!isKind(error, "NotFound")) throw error;
      });
  }
  await client.containers.delete(context, id);
}

export class ContainersRemove extends CtrCommand {
  static override summary = "delete one or more existing containers";
  static override usage = "containers delete [flags] CONTAINER [CONTAINER, ...]";
  static override aliases = aliases(["containers", "container", "c"], ["delete", "del", "remove", "rm"]);
  static override strict = false;
  static override args = { id: Args.string({ required: true, description: "container id" }) };
  static override flags = { "keep-snapshot": Flags.boolean({ description: "do not clean up snapshot with container" }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ContainersRemove);
    const client = await this.connect(flags);
    let failure: unknown;
    for (const id of argv as string[]) {
      try {
        await deleteContainer(client, id, flags["keep-snapshot"]);
      } catch (error) {
        failure ??= error;
        process.stderr.write(logrusLine("error", `failed to delete container ${JSON.stringify(id)}`, { error: (error as Error).message }));
      }
    }
    if (failure !== undefined) throw failure;
  }
}
