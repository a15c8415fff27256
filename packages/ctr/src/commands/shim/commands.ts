import { Args } from "@oclif/core";
import type { taskV2 } from "@berth/api/proto";
import type { TtrpcServiceClient } from "@berth/ttrpc";
import { CtrCommand } from "../../base.js";
import { goIndentedJson, goJson } from "../../format/go-values.js";
import { shimFlags, shimTaskService } from "./shared.js";

type ShimService = TtrpcServiceClient<typeof taskV2.TaskDefinition>;

/** A command that talks containerd.task.v2.Task to a container's shim; the daemon is asked only to find a grouped shim. */
abstract class ShimCommand extends CtrCommand {
  protected async withShim<T>(flags: { id?: string | undefined; address?: string | undefined; namespace?: string | undefined }, call: (service: ShimService) => Promise<T>): Promise<T> {
    const { resolveAddress, resolveNamespace } = await import("@berth/client");
    const target = { address: resolveAddress(flags.address), namespace: resolveNamespace(flags.namespace), connect: () => this.connect(flags) };
    const { connection, service } = await shimTaskService(target, flags.id);
    try {
      return await call(service);
    } finally {
      connection.close();
    }
  }
}

export class ShimState extends ShimCommand {
  static override summary = "get the state of all the processes of the task";
  static override flags = shimFlags;

  async run(): Promise<void> {
    const { flags } = await this.parse(ShimState);
    const state = await this.withShim(flags, (service) => service.state({ id: flags.id!, execId: "" }));
    this.print(`${goIndentedJson(goJson(state))}\n`);
  }
}

export class ShimStart extends ShimCommand {
  static override summary = "start a container with a task";
  static override flags = shimFlags;
  static override args = { id: Args.string({ description: "container id" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ShimStart);
    await this.withShim(flags, (service) => service.start({ id: args.id ?? "", execId: "" }));
  }
}

export class ShimDelete extends ShimCommand {
  static override summary = "delete a container with a task";
  static override flags = shimFlags;
  static override args = { id: Args.string({ description: "container id" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ShimDelete);
    const deleted = await this.withShim(flags, (service) => service.delete({ id: args.id ?? "", execId: "" }));
    this.print(`container deleted and returned exit status ${deleted.exitStatus}\n`);
  }
}
