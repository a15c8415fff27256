/**
 * Writing one layer's entries onto a directory, containerd's archive.Apply ("naive" whiteouts):
 * whiteouts delete from the layers below, an existing path is replaced unless both are
 * directories, metadata goes on after content (chown, then xattrs, then chmod, then times), and
 * directory times are set once every entry is in.
 */
import { constants as fsConstants } from "node:fs";
import { chmod, link, lstat, lutimes, lchown, mkdir, open, readdir, rm, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { errorOfKind, invalidArgument } from "@berth/api";
import { locate, resolveInRoot, cleanComponents } from "./root-path.js";
import { lsetxattr, makedev, mknod } from "./sys.js";
import type { TarEntry } from "./tar-reader.js";

const WHITEOUT = ".wh.";
const WHITEOUT_META = ".wh..wh.";
const OPAQUE = ".wh..wh..opq";

const typeBits = { char: fsConstants.S_IFCHR, block: fsConstants.S_IFBLK, fifo: fsConstants.S_IFIFO } as const;

export class LayerWriter {
  /** Physical paths this layer wrote: opaque directories and whiteouts keep them. */
  private readonly unpacked = new Set<string>();
  /** Directories above those paths. */
  private readonly aboveUnpacked = new Set<string>();
  private readonly dirTimes: Array<{ path: string; atime: number; mtime: number }> = [];

  constructor(private readonly root: string) {}

  async write(entry: TarEntry): Promise<void> {
    const what = `tar entry ${JSON.stringify(entry.name)}`;
    const where = await locate(this.root, entry.name, what);
    if (where === undefined) return;
    const { parent, base } = where;
    const marker = whiteoutOf(base, what);

    try {
      // Missing parents are created for every entry, whiteouts included (as containerd does).
      await mkdir(parent, { recursive: true, mode: 0o755 });
      if (marker === "opaque") return await this.hideLower(parent);
      if (marker === "reserved") return;
      if (marker !== undefined) return await this.whiteout(join(parent, marker.hides));

      const path = join(parent, base);
      // Resolve a hard link's target before anything at `path` goes: it may be the target.
      const target = entry.type === "link" ? await this.linkTarget(entry.linkname, what) : undefined;
      if (target === path) return this.markUnpacked(path);
      const existing = await lstatOrUndefined(path);
      if (existing !== undefined && !(existing.isDirectory() && entry.type === "directory")) {
        await rm(path, { recursive: true, force: true });
      }
      await this.create(entry, path, existing?.isDirectory() === true, target);
      await this.setMetadata(entry, path);
      this.markUnpacked(path);
    } catch (error) {
      throw wrapFsError(error, what);
    }
  }

  /** Directory times, last, so that writing their children does not change them again. */
  async finish(): Promise<void> {
    for (const { path, atime, mtime } of this.dirTimes) {
      // Skip directories a later entry of the layer removed or replaced.
      if ((await lstatOrUndefined(path))?.isDirectory() === true) await lutimes(path, atime, mtime);
    }
  }

  private async create(entry: TarEntry, path: string, isDir: boolean, target: string | undefined): Promise<void> {
    switch (entry.type) {
      case "directory":
        if (!isDir) await mkdir(path, { mode: 0o700 });
        return;
      case "file": {
        const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
        const file = await open(path, flags, 0o600);
        try {
          for await (const chunk of entry.body) await file.write(chunk);
        } finally {
          await file.close();
        }
        return;
      }
      case "symlink":
        // The target is stored as is: following it later is what resolveInRoot confines.
        return symlink(entry.linkname, path);
      case "link":
        return link(target as string, path);
      case "char":
      case "block":
      case "fifo":
        return mknod(path, typeBits[entry.type] | (entry.mode & 0o7777), makedev(entry.devmajor, entry.devminor));
    }
  }

  private async setMetadata(entry: TarEntry, path: string): Promise<void> {
    // chown clears setuid/setgid and security.capability, so it goes first.
    await lchown(path, entry.uid, entry.gid);
    for (const [name, value] of entry.xattrs) {
      try {
        lsetxattr(path, name, value);
      } catch (error) {
        if (!ignorableXattrError(name, error)) throw error;
      }
    }
    // chmod follows symlinks, and a hard link may be one (to a symlink in the layer).
    const isSymlink = entry.type === "symlink" || (entry.type === "link" && (await lstat(path)).isSymbolicLink());
    if (!isSymlink) await chmod(path, entry.mode & 0o7777);
    const mtime = boundTime(entry.mtime);
    const atime = entry.atime !== undefined && entry.atime > entry.mtime ? boundTime(entry.atime) : mtime;
    if (entry.type === "directory") this.dirTimes.push({ path, atime, mtime });
    else await lutimes(path, atime, mtime);
  }

  private async linkTarget(linkname: string, what: string): Promise<string> {
    const components = cleanComponents(linkname, `${what}: hard link target`);
    const base = components.at(-1);
    if (base === undefined) throw invalidArgument(`${what}: hard link to the root`);
    const parent = await resolveInRoot(this.root, components.slice(0, -1), `${what}: hard link target`);
    const target = join(parent, base);
    const stats = await lstatOrUndefined(target);
    if (stats === undefined) throw invalidArgument(`${what}: hard link target ${JSON.stringify(linkname)} not found in the root`);
    if (stats.isDirectory()) throw invalidArgument(`${what}: hard link to a directory`);
    return target;
  }

  /** A `.wh.<name>`: removes what the layers below have at `path`, keeping what this layer wrote. */
  private async whiteout(path: string): Promise<void> {
    if (this.unpacked.has(path) || this.aboveUnpacked.has(path)) await this.hideLower(path);
    else await rm(path, { recursive: true, force: true });
  }

  /** An opaque directory: everything below `dir` that this layer did not write goes. */
  private async hideLower(dir: string): Promise<void> {
    let names: string[];
    try {
      if (!(await lstat(dir)).isDirectory()) return;
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    for (const name of names) {
      const path = join(dir, name);
      if (this.unpacked.has(path) || this.aboveUnpacked.has(path)) await this.hideLower(path);
      else await rm(path, { recursive: true, force: true });
    }
  }

  private markUnpacked(path: string): void {
    this.unpacked.add(path);
    for (let dir = dirname(path); dir.length > this.root.length && !this.aboveUnpacked.has(dir); dir = dirname(dir)) {
      this.aboveUnpacked.add(dir);
    }
  }
}

/**
 * What a whiteout-like name means: `.wh..wh..opq` an opaque directory, other `.wh..wh.*` nothing
 * (reserved by the OCI spec; containerd 1.6 would delete `.wh.<rest>`, which no layer can create),
 * `.wh.<name>` the deletion of `<name>`.
 */
function whiteoutOf(base: string, what: string): "opaque" | "reserved" | { hides: string } | undefined {
  if (base === OPAQUE) return "opaque";
  if (base.startsWith(WHITEOUT_META)) return "reserved";
  if (!base.startsWith(WHITEOUT)) return undefined;
  const hides = base.slice(WHITEOUT.length);
  if (hides === "" || hides === "." || hides === "..") throw invalidArgument(`${what}: invalid whiteout name`);
  return { hides };
}

/**
 * Which xattr failures are tolerated: the filesystem not supporting the namespace (ENOTSUP, as
 * containerd), and EPERM for `security.*`/`trusted.*` (an LSM or missing privilege refusing a label).
 */
function ignorableXattrError(name: string, error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (code === "ENOTSUP" || code === "EOPNOTSUPP") return true;
  return code === "EPERM" && (name.startsWith("security.") || name.startsWith("trusted."));
}

/** containerd's boundTime: times outside what Go can represent (or before 1970) become the epoch. */
function boundTime(seconds: number): number {
  return Number.isFinite(seconds) && seconds >= 0 && seconds < 9.2e9 ? seconds : 0;
}

async function lstatOrUndefined(path: string): Promise<import("node:fs").Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Failures that say the layer does not fit the tree (a parent that is a file, a link to a
 * directory) are the layer's fault: InvalidArgument; the rest pass through with the entry named. */
function wrapFsError(error: unknown, what: string): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string" || (error as { kind?: unknown }).kind !== undefined) return error;
  const kind = code === "ENOTDIR" || code === "EEXIST" || code === "EISDIR" || code === "ELOOP" ? "InvalidArgument" : "Unknown";
  return errorOfKind(kind, `${what}: ${(error as Error).message}`, { cause: error });
}
