import { mkdtemp, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Mount } from "@berth/api";
import { mountAll } from "./mount.js";
import { unmountAll } from "./unmount.js";

export interface WithMountsOptions {
  /** Where to make the temporary mount point; the system's temp dir by default. */
  readonly tempDir?: string;
}

/**
 * Mounts `mounts` on a fresh temporary directory, runs `fn` on it, then unmounts everything there
 * and removes the directory, whether `fn` succeeded or threw (its error wins over a cleanup
 * error). A mount still busy after the retries is detached lazily rather than left visible. The
 * directory is removed with rmdir, never recursively, so a mount that somehow stayed cannot lose
 * its files. Like containerd's `mount.WithTempMount`.
 */
export async function withMounts<T>(mounts: readonly Mount[], fn: (root: string) => T | Promise<T>, options: WithMountsOptions = {}): Promise<T> {
  const root = await mkdtemp(join(options.tempDir ?? tmpdir(), "berth-mount-"));
  try {
    await mountAll(mounts, root);
  } catch (error) {
    await rmdir(root).catch(() => undefined);
    throw error;
  }
  let result: T;
  try {
    result = await fn(root);
  } catch (error) {
    await release(root).catch(() => undefined);
    throw error;
  }
  await release(root);
  return result;
}

async function release(root: string): Promise<void> {
  try {
    await unmountAll(root);
  } catch {
    await unmountAll(root, { detach: true });
  }
  await rmdir(root);
}
