import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdir, open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { unmountAll } from "@berth/mount";

const run = promisify(execFile);

/**
 * A pod's network namespace, bind-mounted on a file so that it outlives its processes:
 * `<directory>/cni-<uuid>` as containerd names it (directory /var/run/netns, or the CRI's state
 * directory with `netns_mounts_under_state_dir`). util-linux's `unshare --net=<file>` makes the
 * namespace and the mount.
 */
export async function createNetns(directory: string): Promise<string> {
  const hex = randomBytes(16).toString("hex");
  const path = join(directory, `cni-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
  await mkdir(directory, { recursive: true, mode: 0o755 });
  await shareDirectory(directory);
  await (await open(path, "wx", 0o666)).close();
  try {
    await run("unshare", [`--net=${path}`, "true"]);
  } catch (error) {
    await rm(path, { force: true });
    throw new Error(`failed to create network namespace for sandbox: ${(error as Error).message}`);
  }
  return path;
}

/**
 * Makes the directory of the namespace files a shared mount (bound onto itself first, as iproute2
 * and containerd do), so that unmounting a namespace reaches copies of the mount made meanwhile.
 */
const shared = new Map<string, Promise<void>>();

function shareDirectory(directory: string): Promise<void> {
  let sharing = shared.get(directory);
  if (sharing === undefined) {
    sharing = makeShared(directory);
    shared.set(directory, sharing);
    sharing.catch(() => shared.delete(directory));
  }
  return sharing;
}

async function makeShared(directory: string): Promise<void> {
  const mounted = await run("findmnt", ["-n", "--mountpoint", directory]).then(
    () => true,
    () => false,
  );
  if (!mounted) await run("mount", ["--bind", directory, directory]);
  await run("mount", ["--make-shared", directory]);
}

/** Whether `path` is still a mounted network namespace. */
export async function netnsOpen(path: string): Promise<boolean> {
  if (path === "") return false;
  try {
    await stat(path);
    const { stdout } = await run("findmnt", ["-n", "-o", "FSTYPE", "--mountpoint", path]);
    return stdout.trim() === "nsfs";
  } catch {
    return false;
  }
}

/** Unmounts (detached, by umount2(2)) and removes the namespace's file; a missing one is fine. */
export async function removeNetns(path: string): Promise<void> {
  if (path === "") return;
  await unmountAll(path, { detach: true }).catch(() => undefined);
  await rm(path, { force: true });
}
