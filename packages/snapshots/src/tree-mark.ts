import { createHash, randomUUID } from "node:crypto";
import { closeSync, fstatSync, futimesSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const attempts = 5;
const maxWaitMs = 1000;

/**
 * A mark of everything under `root` (as the `pristineMark` capability of a snapshotter promises
 * it): a hash of every entry's path, inode, type and mode, owner, device, size, mtime and ctime.
 * Any write, truncate, create, remove, rename, chmod, chown, utimes or xattr change sets the
 * ctime of an inode to the kernel's current time, which user space cannot choose. So the mark is
 * taken only once the kernel's clock is past every ctime it records: a later change then gives a
 * newer ctime, hence another mark. The kernel's clock is read as the ctime it gives a probe file
 * (a coarse clock, a tick behind the real one, or a finer one on kernels with multigrain
 * timestamps), read before the walk: ctimes the walk finds older than it cannot be set again. A
 * tree that keeps changing (or has a ctime ahead of the clock) gets a mark no later call equals.
 */
export async function treeMark(root: string): Promise<string> {
  const deadline = Date.now() + maxWaitMs;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const clock = kernelClockNs();
    const { digest, newestCtime } = await fingerprint(root);
    if (newestCtime < clock) return digest;
    // Something in the tree was changed within the current tick: wait for the clock to pass it.
    while (kernelClockNs() <= newestCtime) {
      // A ctime far ahead (the clock was set back) would keep it waiting: such a tree never settles.
      if (Date.now() > deadline) return `unsettled:${randomUUID()}`;
      await sleep(1);
    }
  }
  return `unsettled:${randomUUID()}`;
}

let probe: number | undefined;

/** The ctime the kernel gives a change made now, from an unlinked file of this process's own. */
function kernelClockNs(): bigint {
  if (probe === undefined) {
    const directory = mkdtempSync(join(tmpdir(), "berth-clock-"));
    try {
      probe = openSync(join(directory, "probe"), "w", 0o600);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }
  try {
    futimesSync(probe, 0, 0);
    return fstatSync(probe, { bigint: true }).ctimeNs;
  } catch (error) {
    closeSync(probe);
    probe = undefined;
    throw error;
  }
}

async function fingerprint(root: string): Promise<{ digest: string; newestCtime: bigint }> {
  const hash = createHash("sha256");
  let newestCtime = 0n;
  const visit = async (path: string, relative: string): Promise<void> => {
    const stats = await lstat(path, { bigint: true });
    if (stats.ctimeNs > newestCtime) newestCtime = stats.ctimeNs;
    hash.update(
      `${JSON.stringify(relative)} ${stats.ino} ${stats.mode} ${stats.uid}:${stats.gid} ${stats.rdev} ${stats.size} ${stats.mtimeNs} ${stats.ctimeNs}\n`,
    );
    if (!stats.isDirectory()) return;
    for (const name of (await readdir(path)).sort()) await visit(join(path, name), `${relative}/${name}`);
  };
  await visit(root, "");
  return { digest: `sha256:${hash.digest("hex")}`, newestCtime };
}
