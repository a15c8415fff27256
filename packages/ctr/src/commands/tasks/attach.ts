import * as Args from "@oclif/core/args";
import { aliases, CtrCommand } from "@berth/cli-kit";
import { loadTask, taskTopics } from "./shared.js";

export class TasksAttach extends CtrCommand {
  static override summary = "attach to the IO of a running container";
  static override aliases = aliases(taskTopics, ["attach"]);
  static override args = { id: Args.string({ required: true, description: "container id" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TasksAttach);
    const client = await this.connect(flags);
    const { AttachedIO } = await import("@berth/client");
    const { unpackJson } = await import("@berth/api");
    const { Console } = await import("../../process/console.js");
    const session = await import("../../process/session.js");
    const context = client.context();
    const container = await client.containers.get(context, args.id);
    const tty = unpackJson<{ process?: { terminal?: boolean } }>(container.spec!).process?.terminal === true;
    const terminal = tty ? Console.current() : undefined;
    const task = await loadTask(client, args.id);
    const io = AttachedIO.attach(task, { stdout: process.stdout, stderr: process.stderr });
    terminal?.setRaw();
    let code: number;
    try {
      session.forwardStdin(client, context, io, args.id);
      code = (await session.followProcess(client, context, { containerId: args.id }, client.tasks.wait(context, args.id), io, terminal)).exitStatus;
    } finally {
      terminal?.reset();
      io.close();
      session.releaseStdin();
    }
    if (code !== 0) this.exit(code);
  }
}
