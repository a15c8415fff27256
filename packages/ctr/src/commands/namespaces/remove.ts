import * as Args from "@oclif/core/args";
import { aliases, CtrCommand } from "@berth/cli-kit";

export class NamespacesRemove extends CtrCommand {
  static override summary = "remove one or more namespaces";
  static override description = "Remove one or more namespaces. For now, the namespace must be empty.";
  static override usage = "namespaces remove <name> [<name>, ...]";
  static override aliases = aliases(["namespaces", "namespace", "ns"], ["remove", "rm"]);
  static override strict = false;
  static override args = { name: Args.string({ required: true, description: "namespace name" }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(NamespacesRemove);
    const client = await this.connect(flags);
    const { isKind } = await import("@berth/api");
    let failure: Error | undefined;
    for (const name of argv as string[]) {
      try {
        await client.namespaces.delete(client.context(), name);
      } catch (error) {
        // As ctr: a namespace that is already gone counts as removed.
        if (!isKind(error, "NotFound")) {
          process.stderr.write(`ERRO unable to delete ${name}: ${(error as Error).message}\n`);
          failure ??= new Error(`unable to delete ${name}: ${(error as Error).message}`);
          continue;
        }
      }
      this.print(`${name}\n`);
    }
    if (failure !== undefined) throw failure;
  }
}
