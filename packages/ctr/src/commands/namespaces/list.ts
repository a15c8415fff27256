import * as Flags from "@oclif/core/flags";
import { aliases, CtrCommand, labelList, tabwriter } from "@berth/cli-kit";

export class NamespacesList extends CtrCommand {
  static override summary = "list namespaces";
  static override aliases = aliases(["namespaces", "namespace", "ns"], ["list", "ls"]);
  static override flags = { quiet: Flags.boolean({ char: "q", description: "print only the namespace name" }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(NamespacesList);
    const client = await this.connect(flags);
    const namespaces = await client.namespaces.list(client.context());
    if (flags.quiet) {
      this.print(namespaces.map((namespace) => `${namespace.name}\n`).join(""));
      return;
    }
    const rows = ["NAME\tLABELS\t"];
    for (const { name } of namespaces) {
      // ctr reads each namespace's labels with Get, as containerd's List does not promise them.
      const { labels } = await client.namespaces.get(client.context(), name);
      rows.push(`${name}\t${labelList(labels, "")}\t`);
    }
    this.print(tabwriter(rows));
  }
}
