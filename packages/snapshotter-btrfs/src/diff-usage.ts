import type { BigIntStats } from "node:fs";
import { lstat, open, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { SnapshotUsage } from "@berth/api";

/**
 * The disk usage of what `upper` adds or changes over `lower`, as containerd's `fs.DiffUsage`
 * (continuity) counts it for an active btrfs snapshot: every path of `upper` (its root left out)
 * that `lower` lacks or that differs from lower's, each inode once, its allocated blocks × 512
 * bytes. What is only deleted costs nothing. A snapshot starts as a copy of its parent, so a
 * plain disk usage would count the parent's files too.
 *
 * "Differs" is continuity's sameFile: mode, owner and rdev; for non-directories also size and
 * mtime, and the content (or link target) when both mtimes lack nanoseconds. Unlike continuity
 * the security.capability xattr is not compared (Node cannot read xattrs); a change of only that
 * is not counted.
 */
export async function diffUsage(lower: string, upper: string): Promise<SnapshotUsage> {
  const seen = new Set<string>();
  let size = 0;
  const pending = [""];
  for (let relative = pending.pop(); relative !== undefined; relative = pending.pop()) {
    for (const name of (await readdir(join(upper, relative)).catch(missing)) ?? []) {
      const path = relative === "" ? name : join(relative, name);
      const stats = await lstat(join(upper, path), { bigint: true }).catch(missing);
      if (stats === undefined) continue; // deleted while walking: the tree may be in use
      if (stats.isDirectory()) pending.push(path);
      const before = await lstat(join(lower, path), { bigint: true }).catch(missing);
      if (before !== undefined && (await sameFile(join(lower, path), before, join(upper, path), stats))) continue;
      const inode = `${stats.dev}:${stats.ino}`;
      if (seen.has(inode)) continue;
      seen.add(inode);
      size += Number(stats.blocks) * 512;
    }
  }
  return { size, inodes: seen.size };
}

async function sameFile(lowerPath: string, a: BigIntStats, upperPath: string, b: BigIntStats): Promise<boolean> {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.rdev !== b.rdev) return false;
  if (b.isDirectory()) return true;
  if (a.size !== b.size) return false;
  const second = 1_000_000_000n;
  if (a.mtimeNs / second !== b.mtimeNs / second) return false;
  const [nanosA, nanosB] = [a.mtimeNs % second, b.mtimeNs % second];
  if (nanosA !== 0n || nanosB !== 0n) return nanosA === nanosB;
  // Both times may have been truncated (e.g. by a tar without nanoseconds): look inside.
  if (b.isSymbolicLink()) return (await readlink(lowerPath)) === (await readlink(upperPath));
  return b.size === 0n || sameContent(lowerPath, upperPath);
}

async function sameContent(first: string, second: string): Promise<boolean> {
  const a = await open(first, "r");
  let b;
  try {
    b = await open(second, "r");
  } catch (error) {
    await a.close();
    throw error;
  }
  try {
    const [bufferA, bufferB] = [Buffer.alloc(64 * 1024), Buffer.alloc(64 * 1024)];
    for (;;) {
      const [readA, readB] = [await a.read(bufferA, 0, bufferA.length, null), await b.read(bufferB, 0, bufferB.length, null)];
      if (readA.bytesRead !== readB.bytesRead) return false;
      if (readA.bytesRead === 0) return true;
      if (!bufferA.subarray(0, readA.bytesRead).equals(bufferB.subarray(0, readB.bytesRead))) return false;
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/** A path that is gone (or whose parent is no longer a directory) is simply not there. */
function missing(error: unknown): undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return undefined;
  throw error;
}
