import { createHash, randomUUID } from "node:crypto";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

// Inode times come from the kernel's coarse clock, up to a tick (1-10 ms) behind the real one.
const clockTickNs = 50_000_000n;
const attempts = 5;
const maxWaitMs = 1000;

/**
 * A mark of everything under `root` (as the `pristineMark` capability of a snapshotter promises
 * it): a hash of every entry's path, inode, type and mode, owner, device, size, mtime and ctime.
 * Any write, truncate, create, remove, rename, chmod, chown, utimes or xattr change sets the
 * ctime of an inode to the current time, which user space cannot choose. So the mark is taken
 * only once the clock is past every ctime it records: a later change then gives a newer ctime,
 * hence another mark. A tree that keeps changing (or has a ctime ahead of the clock) gets a
 * mark no later call equals.
 */
export async function treeMark(root: string): Promise<string> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const started = BigInt(Date.now()) * 1_000_000n;
    const { digest, newestCtime } = await fingerprint(root);
    if (newestCtime + clockTickNs < started) return digest;
    const wait = Number((newestCtime + clockTickNs - started) / 1_000_000n) + 1;
    // A ctime far ahead (the clock was set back) would keep it waiting: such a tree never settles.
    if (wait > maxWaitMs) break;
    await sleep(wait);
  }
  return `unsettled:${randomUUID()}`;
}

async function fingerprint(root: string): Promise<{ digest: string; newestCtime: bigint }> {
  const hash = createHash("sha256");
  let newestCtime = 0n;
  const visit = async (path: string, relative: string): Promise<void> => {
    const stats = await lstat(path, { bigint: true });
    if (stats.ctimeNs > newestCtime) newestCtime = stats.ctimeNs;
    hash.update(`${JSON.stringify(relative)} ${stats.ino} ${stats.mode} ${stats.uid}:${stats.gid} ${stats.rdev} ${stats.size} ${stats.mtimeNs} ${stats.ctimeNs}\n`);
    if (!stats.isDirectory()) return;
    for (const name of (await readdir(path)).sort()) await visit(join(path, name), `${relative}/${name}`);
  };
  await visit(root, "");
  return { digest: `sha256:${hash.digest("hex")}`, newestCtime };
}
