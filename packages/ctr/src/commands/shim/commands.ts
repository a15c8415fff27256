import { Args } from "@oclif/core";
import { CtrCommand } from "../../base.js";
import { goIndentedJson, goJson } from "../../format/go-values.js";
import { shimFlags, shimTaskService } from "./shared.js";

export class ShimState extends CtrCommand {
  static override summary = "get the state of all the processes of the task";
  static override flags = shimFlags;

  async run(): Promise<void> {
    const { flags } = await this.parse(ShimState);
    const client = await this.connect(flags);
    const { connection, service } = await shimTaskService(client, flags.id);
    try {
      const state = await service.state({ id: flags.id!, execId: "" });
      this.print(`${goIndentedJson(goJson(state))}\n`);
    } finally {
      connection.close();
    }
  }
}

export class ShimStart extends CtrCommand {
  static override summary = "start a container with a task";
  static override flags = shimFlags;
  static override args = { id: Args.string({ description: "container id" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ShimStart);
    const client = await this.connect(flags);
    const { connection, service } = await shimTaskService(client, flags.id);
    try {
      await service.start({ id: args.id ?? "", execId: "" });
    } finally {
      connection.close();
    }
  }
}

export class ShimDelete extends CtrCommand {
  static override summary = "delete a container with a task";
  static override flags = shimFlags;
  static override args = { id: Args.string({ description: "container id" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ShimDelete);
    const client = await this.connect(flags);
    const { connection, service } = await shimTaskService(client, flags.id);
    try {
      const deleted = await service.delete({ id: args.id ?? "", execId: "" });
      this.print(`container deleted and returned exit status ${deleted.exitStatus}\n`);
    } finally {
      connection.close();
    }
  }
}

