import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";

const run = promisify(execFile);

/**
 * A pod's network namespace, bind-mounted on a file so that it outlives its processes:
 * `<dir>/cni-<uuid>` as containerd names it. iproute2's `ip netns` makes and removes the mount
 * (it keeps its files under /var/run/netns, containerd's default directory).
 */
export async function createNetns(directory = "/var/run/netns"): Promise<string> {
  const hex = randomBytes(16).toString("hex");
  const name = `cni-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  if (directory !== "/var/run/netns") throw new Error(`netns directory ${directory}: only /var/run/netns is supported`);
  await run("ip", ["netns", "add", name]);
  return join(directory, name);
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

export async function removeNetns(path: string): Promise<void> {
  if (path === "") return;
  const name = path.slice(path.lastIndexOf("/") + 1);
  await run("ip", ["netns", "delete", name]).catch(() => undefined);
  await run("umount", ["-l", path]).catch(() => undefined);
  await rm(path, { force: true });
}

/** Runs `command` inside the network namespace at `path`. */
export async function inNetns(path: string, command: string, args: readonly string[]): Promise<string> {
  const { stdout } = await run("nsenter", [`--net=${path}`, "--", command, ...args]);
  return stdout;
}
