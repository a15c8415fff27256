import * as Args from "@oclif/core/args";
import { aliases, CtrCommand, tabwriter } from "@berth/cli-kit";
import { loadTask, taskTopics } from "./shared.js";

export class TasksPs extends CtrCommand {
  static override summary = "list processes for container";
  static override aliases = aliases(taskTopics, ["ps"]);
  static override args = { id: Args.string({ required: true, description: "container id" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TasksPs);
    const client = await this.connect(flags);
    const { knownTypes } = await import("@berth/api/known-types");
    await loadTask(client, args.id);
    const types = knownTypes();
    const rows = (await client.tasks.listPids(client.context(), args.id)).map(({ pid, info }) => {
      if (info === undefined) return `${pid}\t-`;
      // ctr prints the decoded message with %+v, i.e. gogo's String(): `&ProcessDetails{ExecID:e1,XXX_unrecognized:[],}`.
      const details = types.unpack<{ execId?: string }>(info);
      return info.typeUrl.endsWith("ProcessDetails")
        ? `${pid}\t&ProcessDetails{ExecID:${details.execId ?? ""},XXX_unrecognized:[],}`
        : `${pid}\t${JSON.stringify(details)}`;
    });
    this.print(tabwriter(["PID\tINFO", ...rows], 1, 4));
  }
}
