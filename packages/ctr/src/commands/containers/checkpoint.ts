import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { aliases, CtrCommand } from "@berth/cli-kit";
import { runTask } from "../../process/run-task.js";
import { fifoDirFlag, fifoRoot } from "../tasks/shared.js";

const containerTopics = ["containers", "container", "c"] as const;

export class ContainersCheckpoint extends CtrCommand {
  static override summary = "checkpoint a container";
  static override usage = "containers checkpoint [flags] CONTAINER REF";
  static override aliases = aliases(containerTopics, ["checkpoint"]);
  static override args = { id: Args.string({ description: "container id" }), ref: Args.string({ description: "checkpoint image name" }) };
  static override flags = {
    rw: Flags.boolean({ description: "include the rw layer in the checkpoint" }),
    image: Flags.boolean({ description: "include the image in the checkpoint" }),
    task: Flags.boolean({ description: "checkpoint container task" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContainersCheckpoint);
    if (!args.id) throw new Error("container id must be provided");
    if (!args.ref) throw new Error("ref must be provided");
    const { isKind } = await import("@berth/api");
    const { checkpointContainer } = await import("@berth/client");
    const client = await this.connect(flags);
    const context = client.context();
    await client.containers.get(context, args.id);
    const running = await client.tasks.get(context, args.id).then(
      () => true,
      (error: unknown) => {
        if (isKind(error, "NotFound")) return false;
        throw error;
      },
    );
    // As ctr: a task is paused while its container is checkpointed.
    if (running) await client.tasks.pause(context, args.id);
    try {
      await checkpointContainer(client, context, args.id, args.ref, { rw: flags.rw, image: flags.image, task: flags.task });
    } finally {
      if (running) await client.tasks.resume(context, args.id).catch((error: Error) => this.print(`error resuming task: ${error.message}\n`));
    }
  }
}

export class ContainersRestore extends CtrCommand {
  static override summary = "restore a container from checkpoint";
  static override usage = "containers restore [flags] CONTAINER REF";
  static override aliases = aliases(containerTopics, ["restore"]);
  static override args = { id: Args.string({ description: "container id" }), ref: Args.string({ description: "checkpoint image name" }) };
  static override flags = {
    rw: Flags.boolean({ description: "restore the rw layer from the checkpoint" }),
    live: Flags.boolean({ description: "restore the runtime and memory data from the checkpoint" }),
    ...fifoDirFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContainersRestore);
    if (!args.id) throw new Error("container id must be provided");
    if (!args.ref) throw new Error("ref must be provided");
    const { unpackJson } = await import("@berth/api");
    const { restoreContainer, taskCheckpointOf } = await import("@berth/client");
    const client = await this.connect(flags);
    const context = client.context();
    const checkpoint = flags.live ? await taskCheckpointOf(client, context, args.ref) : undefined;
    const container = await restoreContainer(client, context, args.id, args.ref, { rw: flags.rw });
    // As ctr: a task on ctr's stdio, left running unless it has a terminal to follow.
    const tty = unpackJson<{ process?: { terminal?: boolean } }>(container.spec!).process?.terminal === true;
    const code = await runTask(client, container, { detach: !tty, nullIo: false, fifoDir: await fifoRoot(flags["fifo-dir"]), checkpoint });
    if (code !== 0) this.exit(code);
  }
}
