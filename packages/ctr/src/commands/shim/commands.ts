import { readFile } from "node:fs/promises";
import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import type { taskV2 } from "@berth/api/proto";
import type { TtrpcServiceClient } from "@berth/ttrpc";
import { CtrCommand } from "@berth/cli-kit";
import { goIndentedJson, goJson } from "../../format/go-values.js";
import { shimFlags, shimTaskService } from "./shared.js";

type ShimService = TtrpcServiceClient<typeof taskV2.TaskDefinition>;

/** Go's names of the status codes, as a raw gRPC/ttrpc error prints them. */
const codeNames: Readonly<Record<string, string>> = { NotImplemented: "Unimplemented", Canceled: "Canceled" };

/** ctr's shim commands print the shim's errors as they come: `rpc error: code = Unknown desc = …`. */
async function asRpcError(error: unknown): Promise<Error> {
  const { kindOf } = await import("@berth/api");
  const kind = kindOf(error);
  return new Error(`rpc error: code = ${codeNames[kind] ?? kind} desc = ${(error as Error).message}`, { cause: error });
}

/** A command that talks containerd.task.v2.Task to a container's shim; the daemon is asked only to find a grouped shim. */
abstract class ShimCommand extends CtrCommand {
  protected async withShim<T>(
    flags: { id?: string | undefined; address?: string | undefined; namespace?: string | undefined },
    call: (service: ShimService) => Promise<T>,
  ): Promise<T> {
    const { resolveAddress, resolveNamespace } = await import("@berth/client");
    const target = { address: resolveAddress(flags.address), namespace: resolveNamespace(flags.namespace), connect: () => this.connect(flags) };
    const { connection, service } = await shimTaskService(target, flags.id);
    try {
      return await call(service).catch(async (error: unknown) => {
        throw await asRpcError(error);
      });
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

export class ShimExec extends ShimCommand {
  static override summary = "exec a new process in the task's container";
  static override usage = "shim --id ID exec --spec FILE [flags] EXEC_ID";
  static override flags = {
    ...shimFlags,
    spec: Flags.string({ description: "runtime spec" }),
    stdin: Flags.string({ description: "specify the path to the stdin fifo" }),
    stdout: Flags.string({ description: "specify the path to the stdout fifo" }),
    stderr: Flags.string({ description: "specify the path to the stderr fifo" }),
    tty: Flags.boolean({ char: "t", description: "enable tty support" }),
  };
  static override args = { execId: Args.string({ description: "exec id" }) };

  /** The process (a runtime-spec Process, JSON, from --spec) is added to the container named by --id and started. */
  async run(): Promise<void> {
    const { args, flags } = await this.parse(ShimExec);
    if (!args.execId) throw new Error("exec id must be provided");
    const spec = await readFile(flags.spec ?? "");
    const { pid } = await this.withShim(flags, async (service) => {
      const io = { stdin: flags.stdin ?? "", stdout: flags.stdout ?? "", stderr: flags.stderr ?? "", terminal: flags.tty };
      await service.exec({
        id: flags.id!,
        execId: args.execId!,
        spec: { typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process", value: spec },
        ...io,
      });
      return service.start({ id: flags.id!, execId: args.execId! });
    });
    this.print(`exec running with pid ${pid}\n`);
  }
}
