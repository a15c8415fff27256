import { mkdir, readdir, rmdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { mountPointsUnder } from "./mountinfo.js";
import { unmountAll } from "./unmount.js";

/**
 * Clears the directory where a daemon makes its temporary mount points (`withMounts`' `tempDir`),
 * before anything mounts there: what a killed daemon left. Like containerd's
 * `mount.CleanupTempMounts` on `<root>/tmpmounts`: makes the directory (0700) if missing,
 * unmounts every mount below it, deepest first, detaching any that is still busy, then removes
 * each entry with rmdir (never recursively, so that nothing mounted can lose its files; an entry
 * that is not an empty directory stays). Returns the mount points it unmounted.
 */
export async function cleanupTempMounts(directory: string): Promise<string[]> {
  const base = resolve(directory);
  await mkdir(base, { recursive: true, mode: 0o700 });
  const points = mountPointsUnder(base).filter((point) => point !== base);
  for (const point of points) await unmountAll(point, { detach: true });
  for (const name of await readdir(base)) await rmdir(join(base, name)).catch(() => undefined);
  return points;
}
