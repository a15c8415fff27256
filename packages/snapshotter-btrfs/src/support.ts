import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { btrfsVersion } from "./btrfs.js";

export interface BtrfsSupport {
  readonly supported: boolean;
  /** Why not, when not supported. */
  readonly reason?: string;
}

/** One line of /proc/self/mountinfo, the fields the snapshotter needs. */
export interface MountInfo {
  readonly mountPoint: string;
  readonly fsType: string;
  /** The mount source: for btrfs, the (first) block device of the filesystem. */
  readonly source: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040 …). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

function parseMountInfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    // Optional fields end at "-"; the filesystem type and source follow it.
    const separator = fields.indexOf("-", 6);
    const [mountPoint, fsType, source] = [fields[4], fields[separator + 1], fields[separator + 2]];
    if (separator < 0 || mountPoint === undefined || fsType === undefined || source === undefined) continue;
    mounts.push({ mountPoint: unescape(mountPoint), fsType: unescape(fsType), source: unescape(source) });
  }
  return mounts;
}

/**
 * The mount that holds `path` (or, if it does not exist yet, its nearest existing ancestor), as
 * containerd's mount.Lookup finds it: the longest mount point that is `path` or one of its
 * parents. Of several mounts stacked on that point, the last (the visible one) wins.
 */
export function lookupMount(path: string): MountInfo {
  let existing = resolve(path);
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const resolved = realpathSync(existing);
  let found: MountInfo | undefined;
  for (const mount of parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"))) {
    const point = mount.mountPoint;
    const holds = point === resolved || resolved.startsWith(point.endsWith(sep) ? point : `${point}${sep}`);
    if (holds && point.length >= (found?.mountPoint.length ?? 0)) found = mount;
  }
  if (found === undefined) throw new Error(`failed to find the mount info for ${JSON.stringify(resolved)}`);
  return found;
}

/**
 * Whether the btrfs snapshotter can keep its data under `root`: Linux, `root` (or where it
 * would be made) on a btrfs mount, and the btrfs command installed. The reason for a root that
 * is not on btrfs is containerd's message for skipping the plugin.
 */
export function btrfsSupported(root: string): BtrfsSupport {
  if (process.platform !== "linux") return { supported: false, reason: `the btrfs snapshotter needs Linux, not ${process.platform}` };
  let mount: MountInfo;
  try {
    mount = lookupMount(root);
  } catch (error) {
    return { supported: false, reason: `path ${root}: ${(error as Error).message}` };
  }
  if (mount.fsType !== "btrfs") {
    return { supported: false, reason: `path ${root} (${mount.fsType}) must be a btrfs filesystem to be used with the btrfs snapshotter` };
  }
  try {
    btrfsVersion();
  } catch (error) {
    return { supported: false, reason: (error as Error).message };
  }
  return { supported: true };
}
