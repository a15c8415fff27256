import { execFile, execFileSync } from "node:child_process";
import { lstatSync } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { errorOfKind } from "@berth/api";

/*
 * Subvolumes are made and removed with Debian's `btrfs` command (btrfs-progs) rather than with
 * the BTRFS_IOC_* ioctls containerd calls: Node has no ioctl, there is no maintained npm binding
 * for them, and the CLI is the tool the kernel's btrfs developers ship and keep in step with it.
 * Each call is one short process. The synchronous forms exist for the metastore's transactions,
 * which must not await.
 */

const run = promisify(execFile);
// LC_ALL=C: stderr is matched below ("Directory not empty") and shown in errors.
const options = { encoding: "utf8", env: { ...process.env, LC_ALL: "C" }, maxBuffer: 1 << 20 } as const;

// The root directory of every subvolume is this inode (BTRFS_FIRST_FREE_OBJECTID).
const subvolumeRootInode = 256n;

function failure(args: readonly string[], error: unknown): Error {
  const { code, stderr } = error as { code?: unknown; stderr?: unknown };
  if (code === "ENOENT") return errorOfKind("FailedPrecondition", "the btrfs command (btrfs-progs) is not installed", { cause: error });
  const detail = typeof stderr === "string" && stderr.trim() !== "" ? stderr.trim() : (error as Error).message;
  return errorOfKind("Internal", `btrfs ${args.join(" ")}: ${detail}`, { cause: error });
}

function btrfsSync(...args: string[]): string {
  try {
    return execFileSync("btrfs", args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    throw failure(args, error);
  }
}

async function btrfs(...args: string[]): Promise<string> {
  try {
    return (await run("btrfs", args, options)).stdout;
  } catch (error) {
    throw failure(args, error);
  }
}

/** `btrfs --version`, e.g. "btrfs-progs v6.2"; throws when the command is missing. */
export function btrfsVersion(): string {
  return btrfsSync("--version").trim();
}

/**
 * Refuses a target that exists. `btrfs subvolume snapshot` would otherwise make the snapshot
 * *inside* an existing directory, and report success.
 */
function mustNotExist(path: string): void {
  try {
    lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  throw errorOfKind("Internal", `cannot make subvolume ${path}: it already exists`);
}

/** A new, empty, writable subvolume at `path` (which must not exist). */
export function createSubvolumeSync(path: string): void {
  mustNotExist(path);
  btrfsSync("subvolume", "create", path);
}

/** A snapshot of subvolume `source` at `target` (which must not exist), read-only if asked. */
export function snapshotSubvolumeSync(source: string, target: string, readonly: boolean): void {
  mustNotExist(target);
  btrfsSync("subvolume", "snapshot", ...(readonly ? ["-r"] : []), source, target);
}

/** Deletes subvolume `path`, synchronously: for undoing a subvolume just made, which holds no nested ones. */
export function deleteSubvolumeSync(path: string): void {
  btrfsSync("subvolume", "delete", path);
}

/**
 * Deletes subvolume `path`. Subvolumes made inside it (by whatever ran in a container) would
 * make the kernel refuse (ENOTEMPTY), so, as containerd's SubvolDelete does, those are found
 * and deleted first, deepest first. Walking the tree is only done when that happens.
 */
export async function deleteSubvolume(path: string): Promise<void> {
  try {
    await btrfs("subvolume", "delete", path);
  } catch (error) {
    if (!/not empty/i.test((error as Error).message)) throw error;
    for (const nested of await nestedSubvolumes(path)) await deleteSubvolume(nested);
    await btrfs("subvolume", "delete", path);
  }
}

/** The subvolumes directly inside subvolume `root` (not inside those). */
async function nestedSubvolumes(root: string): Promise<string[]> {
  const found: string[] = [];
  const pending = [root];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      if ((await lstat(path, { bigint: true })).ino === subvolumeRootInode) found.push(path);
      else pending.push(path);
    }
  }
  return found;
}

/** Whether `path` is the root of a subvolume (without running the command). */
export async function isSubvolume(path: string): Promise<boolean> {
  const stats = await lstat(path, { bigint: true });
  return stats.isDirectory() && stats.ino === subvolumeRootInode;
}

/** The id of the subvolume `path` is the root of, as mount's `subvolid=` takes it. */
export async function subvolumeId(path: string): Promise<number> {
  const output = (await btrfs("inspect-internal", "rootid", path)).trim();
  if (!/^[0-9]+$/.test(output)) throw errorOfKind("Internal", `btrfs inspect-internal rootid ${path}: unexpected output ${JSON.stringify(output)}`);
  return Number(output);
}

// The largest generation find-new takes: it then lists no file, only the current generation.
const newestGeneration = "9223372036854775807";

/**
 * The generation of subvolume `path`'s tree, after syncing the filesystem (find-new does): every
 * change written into the subvolume since (data, metadata, xattrs) raises it.
 */
export async function subvolumeGeneration(path: string): Promise<string> {
  const output = await btrfs("subvolume", "find-new", path, newestGeneration);
  const generation = /^transid marker was ([0-9]+)$/m.exec(output)?.[1];
  if (generation === undefined) throw errorOfKind("Internal", `btrfs subvolume find-new ${path}: unexpected output ${JSON.stringify(output)}`);
  return generation;
}
