/**
 * Applying a layer straight into an overlay snapshot's upper directory, as containerd 1.6 does
 * when the mounts are one overlay with an `upperdir` (no temporary mount): whiteouts are written
 * in overlayfs's own form, and a parent directory the upper lacks is made with the attributes of
 * the same directory in the nearest lower layer that has it.
 */
import { constants as fsConstants, readFileSync } from "node:fs";
import { chmod, lchown, lstat, lutimes, mkdir } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Mount } from "@berth/api";
import { lsetxattr, mknod } from "@berth/libc";
import { cleanComponents, resolveInRoot } from "./root-path.js";

/** An overlay mount's writable layer and the layers below it, uppermost first. */
export interface OverlayTarget {
  readonly upperdir: string;
  readonly lowerdirs: readonly string[];
}

/**
 * The upper and lower directories of `mounts` when they are one overlay mount Berth can write
 * into directly; undefined otherwise (then the mounts are mounted). `userxattr` mounts keep
 * their whiteouts in `user.*` xattrs, which this writer does not make; in a user namespace the
 * whiteout devices cannot be made (containerd mounts then too).
 */
export function overlayTarget(mounts: readonly Mount[]): OverlayTarget | undefined {
  if (mounts.length !== 1 || mounts[0]?.type !== "overlay" || inUserNamespace()) return undefined;
  let upperdir: string | undefined;
  let lowerdirs: string[] = [];
  for (const option of mounts[0].options) {
    if (option === "userxattr") return undefined;
    if (option.startsWith("upperdir=")) upperdir = option.slice("upperdir=".length);
    else if (option.startsWith("lowerdir=")) lowerdirs = option.slice("lowerdir=".length).split(":");
  }
  return upperdir === undefined || upperdir === "" ? undefined : { upperdir, lowerdirs };
}

/**
 * Makes the missing directories of `path` (inside `upper`), each with the owner, mode and times
 * of the same path in the nearest lower directory holding one (0755 root's when none does; none
 * when a lower holds a non-directory there, which the new directory replaces).
 */
export async function makeParents(upper: string, path: string, lowerdirs: readonly string[]): Promise<void> {
  const existing = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (existing !== undefined) {
    if (existing.isDirectory()) return;
    throw Object.assign(new Error(`mkparent ${path}: not a directory`), { code: "ENOTDIR" });
  }
  const parent = join(path, "..");
  if (parent.length > upper.length) await makeParents(upper, parent, lowerdirs);
  try {
    await mkdir(path, { mode: 0o755 });
  } catch (error) {
    if ((await lstat(path).catch(() => undefined))?.isDirectory() === true) return;
    throw error;
  }
  const name = relative(upper, path);
  for (const lower of lowerdirs) {
    const below = await resolveInRoot(lower, cleanComponents(name, name), name);
    const stats = await lstat(below, { bigint: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "ENOTDIR") return undefined;
      throw error;
    });
    if (stats === undefined) continue;
    if (!stats.isDirectory()) return;
    await lchown(path, Number(stats.uid), Number(stats.gid));
    await chmod(path, Number(stats.mode) & 0o7777);
    await lutimes(path, nsToSeconds(stats.atimeNs), nsToSeconds(stats.mtimeNs));
    return;
  }
}

/** An overlay whiteout at `path`: a character device 0/0, owned as the tar entry that made it. */
export async function writeWhiteout(path: string, uid: number, gid: number): Promise<void> {
  mknod(path, fsConstants.S_IFCHR, 0);
  await lchown(path, uid, gid);
}

/** Marks `dir` opaque: the layers below show nothing under it. */
export function markOpaque(dir: string): void {
  lsetxattr(dir, "trusted.overlay.opaque", Buffer.from("y"));
}

let userNamespace: boolean | undefined;

/** Whether this process runs in a user namespace: its uid map is not the whole identity range. */
function inUserNamespace(): boolean {
  if (userNamespace === undefined) {
    try {
      userNamespace = readFileSync("/proc/self/uid_map", "utf8").trim().split(/\s+/).join(" ") !== "0 0 4294967295";
    } catch {
      userNamespace = false;
    }
  }
  return userNamespace;
}

const nsToSeconds = (ns: bigint) => Number(ns / 1000n) / 1e6;
