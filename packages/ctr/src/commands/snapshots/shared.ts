import type { Mount, SnapshotKind } from "@berth/api";
import { defaultSnapshotterFor } from "@berth/oci";

/** Every spelling of a snapshots subcommand; `snapshot list` is left to the seed-format command. */
export function snapshotAliases(commands: readonly string[]): string[] {
  const all = ["snapshots", "snapshot"].flatMap((topic) => commands.map((command) => `${topic}:${command}`));
  return all.slice(1).filter((id) => id !== "snapshot:list");
}

export const kindTitle: Record<SnapshotKind, string> = { active: "Active", view: "View", committed: "Committed" };

/** A mount as the mount(8) command line ctr prints. */
export const mountCommand = (mount: Mount, target: string) => `mount -t ${mount.type} ${mount.source} ${target} -o ${mount.options.join(",")}\n`;

/** ctr's default: the namespace's `containerd.io/defaults/snapshotter` label is not read here, as ctr's snapshots commands do not read it. */
export const defaultSnapshotter = defaultSnapshotterFor();
