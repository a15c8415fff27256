import { constants } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { MountError } from "./errors.js";
import { MNT_DETACH, umount2Syscall } from "./libc.js";
import { mountPointsUnder } from "./mountinfo.js";

const { EBUSY, EINVAL, ENOENT } = constants.errno;

export interface UnmountOptions {
  /** MNT_DETACH: detach now, let the kernel finish once nothing uses the mounts (umount -l). */
  readonly detach?: boolean;
}

/**
 * Unmounts everything stacked on `target`, topmost first, until the kernel says it is no longer
 * a mount point (EINVAL), like containerd's `mount.UnmountAll`. A missing target is nothing to
 * unmount. EBUSY is retried for a while (50 × 50 ms), since a file closed just before may still
 * hold the mount; other errors are `MountError`s.
 */
export async function unmountAll(target: string, options: UnmountOptions = {}): Promise<void> {
  const flags = options.detach === true ? MNT_DETACH : 0;
  for (;;) {
    const errno = await unmountOnce(target, flags);
    if (errno === EINVAL || errno === ENOENT) return;
    if (errno !== 0) throw new MountError(errno, `unmount ${target}`);
  }
}

async function unmountOnce(target: string, flags: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const errno = umount2Syscall(target, flags);
    if (errno !== EBUSY) return errno;
    await sleep(50);
  }
  return EBUSY;
}

/**
 * Unmounts every mount at or below `directory`, deepest first: the cleanup after a test or a
 * crash, when what is mounted there is not known. Returns the mount points it found.
 */
export async function unmountUnder(directory: string, options: UnmountOptions = {}): Promise<string[]> {
  const points = mountPointsUnder(directory);
  for (const point of points) await unmountAll(point, options);
  return points;
}
