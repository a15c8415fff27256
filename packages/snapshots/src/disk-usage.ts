import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { SnapshotUsage } from "@berth/api";

/**
 * The disk usage of the tree at `root`, root included, as containerd's `fs.DiskUsage` counts it:
 * every inode once (hard links are not counted twice), its allocated blocks × 512 bytes. What is
 * deleted during the walk (the tree may be in use) is left out.
 */
export async function diskUsage(root: string): Promise<SnapshotUsage> {
  const seen = new Set<string>();
  let size = 0;
  const pending = [root];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    const stats = await lstat(path, { bigint: true }).catch(vanished);
    if (stats === undefined) continue;
    const inode = `${stats.dev}:${stats.ino}`;
    if (!seen.has(inode)) {
      seen.add(inode);
      size += Number(stats.blocks) * 512;
    }
    if (stats.isDirectory()) for (const name of (await readdir(path).catch(vanished)) ?? []) pending.push(join(path, name));
  }
  return { size, inodes: seen.size };
}

function vanished(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
  throw error;
}
