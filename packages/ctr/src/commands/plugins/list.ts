import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import type { PluginInfo } from "@berth/client";
import { platformText } from "@berth/oci";
import { aliases, CtrCommand, tabwriter } from "@berth/cli-kit";

const platformsText = (plugin: PluginInfo) => plugin.platforms.map(platformText).join(",") || "-";

/** containerd's plugin statuses: a skipped plugin's init error says "skip plugin". */
const statusOf = (plugin: PluginInfo) => (plugin.initErr === undefined ? "ok" : plugin.initErr.message.includes("skip plugin") ? "skip" : "error");

export class PluginsList extends CtrCommand {
  static override summary = "lists containerd plugins";
  static override aliases = aliases(["plugins", "plugin"], ["list", "ls"]);
  static override strict = false;
  static override args = { filters: Args.string({ description: "filters, e.g. type==io.containerd.grpc.v1" }) };
  static override flags = {
    quiet: Flags.boolean({ char: "q", description: "print only the plugin ids" }),
    detailed: Flags.boolean({ char: "d", description: "print detailed information about each plugin" }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(PluginsList);
    const client = await this.connect(flags);
    const plugins = await client.plugins(argv as string[]);
    if (flags.quiet) {
      this.print(plugins.map((plugin) => `${plugin.id}\n`).join(""));
    } else if (flags.detailed) {
      this.print(plugins.map(detailed).join(""));
    } else {
      // ctr lays this table out with padding 4 (minwidth 4), unlike its other tables.
      const rows = ["TYPE\tID\tPLATFORMS\tSTATUS\t", ...plugins.map((p) => `${p.type}\t${p.id}\t${platformsText(p)}\t${statusOf(p)}\t`)];
      this.print(tabwriter(rows, 4, 4));
    }
  }
}

function detailed(plugin: PluginInfo): string {
  const rows = [`Type:\t${plugin.type}`, `ID:\t${plugin.id}`];
  if (plugin.requires.length > 0) rows.push("Requires:\t", ...plugin.requires.map((r) => `\t${r}`));
  if (plugin.platforms.length > 0) rows.push(`Platforms:\t${platformsText(plugin)}`);
  const exports = Object.entries(plugin.exports);
  if (exports.length > 0) rows.push("Exports:\t", ...exports.map(([key, value]) => `\t${key}\t${value}`));
  if (plugin.initErr !== undefined) rows.push("Error:\t", `\tCode:\t${plugin.initErr.code}`, `\tMessage:\t${plugin.initErr.message}`);
  return (
    tabwriter(
      rows.map((row) => row + "\t"),
      4,
      8,
    ) + "\n"
  );
}
