import { CtrCommand, snapshotterFlag } from "@berth/cli-kit";
import { defaultSnapshotter, snapshotAliases } from "./shared.js";

export class SnapshotsTree extends CtrCommand {
  static override summary = "display tree view of snapshot branches";
  static override aliases = snapshotAliases(["tree"]);
  static override flags = snapshotterFlag;

  async run(): Promise<void> {
    const { flags } = await this.parse(SnapshotsTree);
    const client = await this.connect(flags);
    const children = new Map<string, string[]>();
    const names = new Set<string>();
    const roots: string[] = [];
    const parents = new Map<string, string>();
    for await (const info of client.snapshotter(flags.snapshotter || defaultSnapshotter).list(client.context(), [])) {
      names.add(info.name);
      parents.set(info.name, info.parent);
    }
    for (const [name, parent] of parents) {
      if (parent === "" || !names.has(parent)) roots.push(name);
      else children.set(parent, [...(children.get(parent) ?? []), name]);
    }
    const lines: string[] = [];
    const print = (name: string, level: number) => {
      lines.push(`${"  ".repeat(level)}${level > 0 ? "\\_" : ""} ${name}\n`);
      for (const child of children.get(name) ?? []) print(child, level + 1);
    };
    for (const root of roots) print(root, 0);
    this.print(lines.join(""));
  }
}
