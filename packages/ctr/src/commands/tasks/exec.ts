import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { aliases, CtrCommand } from "@berth/cli-kit";
import { commandLineAfter } from "../../words.js";
import { fifoDirFlag, fifoRoot, loadTask, taskTopics } from "./shared.js";

export class TasksExec extends CtrCommand {
  static override summary = "execute additional processes in an existing container";
  static override usage = "tasks exec [flags] CONTAINER CMD [ARG...]";
  static override aliases = aliases(taskTopics, ["exec"]);
  static override strict = false;
  static override args = { id: Args.string({ description: "container id" }) };
  static override flags = {
    cwd: Flags.string({ description: "working directory of the new process" }),
    tty: Flags.boolean({ char: "t", description: "allocate a TTY for the container" }),
    detach: Flags.boolean({ char: "d", description: "detach from the task after it has started execution" }),
    "exec-id": Flags.string({ required: true, description: "exec specific id for the process" }),
    ...fifoDirFlag,
    "log-uri": Flags.string({ description: "log uri for custom shim logging" }),
    user: Flags.string({ description: "user id or name" }),
  };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(TasksExec, commandLineAfter(this.argv, 1, TasksExec.flags));
    if (!args.id) throw new Error("container id must be provided");
    const client = await this.connect(flags);
    const berth = await import("@berth/client");
    const { unpackJson, validateIdentifier } = await import("@berth/api");
    const { Console } = await import("../../process/console.js");
    const session = await import("../../process/session.js");
    const context = client.context();
    const execId = flags["exec-id"];
    const container = await client.containers.get(context, args.id);
    const spec = unpackJson<import("@berth/client").OciSpec>(container.spec!);
    if (flags.user) await berth.withUser(flags.user)(spec, { client, context, container });
    const processSpec = { ...spec.process!, terminal: flags.tty, args: (argv as string[]).slice(1), ...(flags.cwd ? { cwd: flags.cwd } : {}) };
    await loadTask(client, args.id);
    validateIdentifier(execId, "exec id");
    const terminal = flags.tty ? Console.current() : undefined;
    const io = await session.newProcessIo(execId, { fifoDir: await fifoRoot(flags["fifo-dir"]), nullIo: false, terminal: flags.tty, logUri: flags["log-uri"] });
    terminal?.setRaw();
    let exitCode = 0;
    let started = false;
    try {
      await client.tasks.exec(context, args.id, execId, berth.processAny(processSpec), io.paths);
      try {
        session.forwardStdin(client, context, io.attached, args.id, execId);
        // Waiting starts before the process does, as ctr's; a detached ctr stops waiting when it leaves.
        const waiting = new AbortController();
        const exit = client.tasks.wait({ ...context, signal: waiting.signal }, args.id, execId);
        exit.catch(() => undefined);
        await client.tasks.start(context, args.id, execId);
        started = true;
        if (flags.detach) {
          waiting.abort();
          return;
        }
        exitCode = (await session.followProcess(client, context, { containerId: args.id, execId }, exit, io.attached, terminal)).exitStatus;
      } finally {
        if (!(flags.detach && started)) await client.tasks.deleteProcess(context, args.id, execId).catch(() => undefined);
      }
    } finally {
      terminal?.reset();
      session.releaseStdin();
      if (flags.detach && started) io.attached?.close();
      else await io.release();
    }
    if (exitCode !== 0) this.exit(exitCode);
  }
}
