/**
 * Writing one layer's entries onto a directory, containerd's archive.Apply ("naive" whiteouts):
 * whiteouts delete from the layers below, an existing path is replaced unless both are
 * directories, metadata goes on after content (chown, then xattrs, then chmod, then times), and
 * directory times are set once every entry is in.
 */
import { constants as fsConstants, fchmodSync, fchownSync, futimesSync } from "node:fs";
import { type FileHandle, chmod, link, lstat, lutimes, lchown, mkdir, open, readdir, rm, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { errorOfKind, invalidArgument } from "@berth/api";
import { lsetxattr, mknod } from "@berth/libc";
import { cleanComponents, resolveInRoot } from "./root-path.js";
import { makedev } from "./device-numbers.js";
import { makeParents, markOpaque, writeWhiteout } from "./overlay-upper.js";
import type { TarEntry } from "./tar-reader.js";
import { WRITE_BATCH, writeAll, writeSparse } from "./write-data.js";

const WHITEOUT = ".wh.";
const WHITEOUT_META = ".wh..wh.";
const OPAQUE = ".wh..wh..opq";

// Files whose last writev, metadata and close may be in flight at once (at most a batch of data each).
const MAX_BEHIND = 8;

const typeBits = { char: fsConstants.S_IFCHR, block: fsConstants.S_IFBLK, fifo: fsConstants.S_IFIFO } as const;

export class LayerWriter {
  /** Physical paths this layer wrote: opaque directories and whiteouts keep them. */
  private readonly unpacked = new Set<string>();
  /** Directories above those paths. */
  private readonly aboveUnpacked = new Set<string>();
  /**
   * Directory times to set at the end, with the path and name they were resolved from: a removal
   * since (and a symlink in its place) may have changed where the name leads, so it is resolved again.
   */
  private readonly dirTimes: Array<{ path: string; components: string[]; removals: number; atime: number; mtime: number }> = [];
  private removals = 0;
  /**
   * Parent directories already resolved and created, by cleaned archive path: entries of one
   * directory skip the lstat of every component and the mkdir. Anything removed may have been
   * one of them (or a symlink on the way), so every removal forgets them all.
   */
  private readonly parents = new Map<string, string>();
  /**
   * Files whose last data, metadata and close are still in flight, oldest first. Only the next
   * new files go on meanwhile: any other entry (which may link, replace or remove them), and
   * finish, wait for them all. The first failure among them fails the next call.
   */
  private readonly behind: Array<Promise<void>> = [];
  private failure: { error: unknown } | undefined;

  /**
   * `lowerdirs` makes `root` an overlay's upper directory, written as overlayfs keeps one (see
   * overlay-upper.ts); without it `root` is the whole tree.
   */
  constructor(
    private readonly root: string,
    private readonly lowerdirs?: readonly string[],
  ) {}

  async write(entry: TarEntry): Promise<void> {
    const what = `tar entry ${JSON.stringify(entry.name)}`;
    const components = cleanComponents(entry.name, what);
    const base = components.at(-1);
    // The root itself: containerd ignores such entries.
    if (base === undefined) return;
    const marker = whiteoutOf(base, what);

    try {
      const parent = await this.parentOf(components.slice(0, -1), what);
      if (entry.type === "file" && marker === undefined) return await this.writeFile(entry, join(parent, base), what);
      // Anything else may link, replace or remove files still in flight.
      await this.settle();
      if (marker === "opaque") return this.lowerdirs === undefined ? await this.hideLower(parent) : markOpaque(parent);
      if (marker === "reserved") return;
      if (marker !== undefined) return await this.whiteout(join(parent, marker.hides), entry);

      const path = join(parent, base);
      // Resolve a hard link's target before anything at `path` goes: it may be the target.
      const target = entry.type === "link" ? await this.linkTarget(entry.linkname, what) : undefined;
      if (target === path) return this.markUnpacked(path);
      const existing = await lstatOrUndefined(path);
      if (existing !== undefined && !(existing.isDirectory() && entry.type === "directory")) {
        await this.remove(path);
      }
      await this.create(entry, path, existing?.isDirectory() === true, target);
      await this.setMetadata(entry, path, components);
      this.markUnpacked(path);
    } catch (error) {
      throw wrapFsError(error, what);
    }
  }

  /** Directory times, last, so that writing their children does not change them again. */
  async finish(): Promise<void> {
    await this.settle();
    for (const { components, removals, atime, mtime, ...known } of this.dirTimes) {
      const path = removals === this.removals ? known.path : await resolveInRoot(this.root, components, components.join("/"));
      // Skip directories a later entry of the layer removed or replaced.
      if ((await lstatOrUndefined(path))?.isDirectory() === true) await lutimes(path, atime, mtime);
    }
  }

  /** The physical directory `parent` names, created if missing (for every entry, whiteouts included, as containerd does). */
  private async parentOf(parent: string[], what: string): Promise<string> {
    const key = parent.join("/");
    const known = this.parents.get(key);
    if (known !== undefined) return known;
    const path = await resolveInRoot(this.root, parent, what);
    if (this.lowerdirs === undefined) await mkdir(path, { recursive: true, mode: 0o755 });
    else await makeParents(this.root, path, this.lowerdirs);
    this.parents.set(key, path);
    return path;
  }

  private async remove(path: string): Promise<void> {
    this.parents.clear();
    this.removals++;
    await rm(path, { recursive: true, force: true });
  }

  /**
   * A regular file: its data, then chown, xattrs, chmod and times as setMetadata does, but on the
   * open descriptor. Those calls are synchronous: each takes microseconds, less than a threadpool
   * round trip, and the file is new (no copy-up). The last writev onwards is left in flight.
   */
  private async writeFile(entry: TarEntry, path: string, what: string): Promise<void> {
    // Whatever is at `path` goes; trying to create first saves an lstat per file.
    let opened = await openNew(path, true);
    if (opened === undefined) {
      await this.settle();
      await this.remove(path);
      opened = (await openNew(path, false)) as FileHandle;
    }
    const file = opened;
    this.markUnpacked(path);
    // Decompressed chunks are small (16-256 KiB): one writev per MiB instead of one write each.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    try {
      if (entry.sparse !== undefined) await writeSparse(file, entry.body, entry.sparse);
      else
        for await (const chunk of entry.body) {
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= WRITE_BATCH) {
            await writeAll(file, pending);
            pending = [];
            pendingBytes = 0;
          }
        }
    } catch (error) {
      await file.close();
      throw error;
    }
    // The rest goes on while the next entries are read.
    const rest = (async () => {
      try {
        if (pendingBytes > 0) await writeAll(file, pending);
        fchownSync(file.fd, entry.uid, entry.gid);
        this.setXattrs(entry, path);
        fchmodSync(file.fd, entry.mode & 0o7777);
        const { atime, mtime } = timesOf(entry);
        futimesSync(file.fd, atime, mtime);
      } finally {
        await file.close();
      }
    })().catch((error: unknown) => {
      this.failure ??= { error: wrapFsError(error, what) };
    });
    this.behind.push(rest);
    if (this.behind.length > MAX_BEHIND) await this.behind.shift();
    if (this.failure !== undefined) throw this.failure.error;
  }

  /** Waits for every file still in flight; throws the first failure among them. */
  async settle(): Promise<void> {
    while (this.behind.length > 0) await this.behind.shift();
    if (this.failure !== undefined) throw this.failure.error;
  }

  private async create(entry: TarEntry, path: string, isDir: boolean, target: string | undefined): Promise<void> {
    switch (entry.type) {
      case "directory":
        if (!isDir) await mkdir(path, { mode: 0o700 });
        return;
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

  private async setMetadata(entry: TarEntry, path: string, components: string[]): Promise<void> {
    // chown clears setuid/setgid and security.capability, so it goes first.
    await lchown(path, entry.uid, entry.gid);
    this.setXattrs(entry, path);
    // chmod follows symlinks, and a hard link may be one (to a symlink in the layer).
    const isSymlink = entry.type === "symlink" || (entry.type === "link" && (await lstat(path)).isSymbolicLink());
    if (!isSymlink) await chmod(path, entry.mode & 0o7777);
    const { atime, mtime } = timesOf(entry);
    if (entry.type === "directory") this.dirTimes.push({ path, components, removals: this.removals, atime, mtime });
    else await lutimes(path, atime, mtime);
  }

  private setXattrs(entry: TarEntry, path: string): void {
    for (const [name, value] of entry.xattrs) {
      try {
        lsetxattr(path, name, value);
      } catch (error) {
        if (!ignorableXattrError(name, error)) throw error;
      }
    }
  }

  /**
   * containerd's hardlinkRootPath: the target's directory resolved in the root as it is written
   * (not cleaned first, so a `..` after a symlink leaves the link's target), its last name not
   * followed (a hard link to a symlink links the symlink).
   */
  private async linkTarget(linkname: string, what: string): Promise<string> {
    if (linkname.includes("\0")) throw invalidArgument(`${what}: hard link target contains a NUL byte`);
    const components = linkname.split("/");
    const base = components.at(-1) as string;
    if (base === "" || base === "." || base === "..") throw invalidArgument(`${what}: hard link to a directory`);
    const parent = await resolveInRoot(this.root, components.slice(0, -1), `${what}: hard link target`);
    const target = join(parent, base);
    const stats = await lstatOrUndefined(target);
    if (stats === undefined) throw invalidArgument(`${what}: hard link target ${JSON.stringify(linkname)} not found in the root`);
    if (stats.isDirectory()) throw invalidArgument(`${what}: hard link to a directory`);
    return target;
  }

  /** A `.wh.<name>`: removes what the layers below have at `path`, keeping what this layer wrote. */
  private async whiteout(path: string, entry: TarEntry): Promise<void> {
    const written = this.unpacked.has(path) || this.aboveUnpacked.has(path);
    if (this.lowerdirs === undefined) return written ? this.hideLower(path) : this.remove(path);
    if (!written) {
      await this.remove(path);
      return writeWhiteout(path, entry.uid, entry.gid);
    }
    if ((await lstatOrUndefined(path))?.isDirectory() === true) markOpaque(path);
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
      else await this.remove(path);
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

/** An entry's times as set: atime only when later than mtime (else mtime), both bounded. */
function timesOf(entry: TarEntry): { atime: number; mtime: number } {
  const mtime = boundTime(entry.mtime);
  return { atime: entry.atime !== undefined && entry.atime > entry.mtime ? boundTime(entry.atime) : mtime, mtime };
}

/** containerd's boundTime: times outside what Go can represent (or before 1970) become the epoch. */
function boundTime(seconds: number): number {
  return Number.isFinite(seconds) && seconds >= 0 && seconds < 9.2e9 ? seconds : 0;
}

const createFlags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;

/** A new file at `path`; undefined if something is there already and `unlessExisting`. */
async function openNew(path: string, unlessExisting: boolean): Promise<FileHandle | undefined> {
  try {
    return await open(path, createFlags, 0o600);
  } catch (error) {
    if (unlessExisting && (error as NodeJS.ErrnoException).code === "EEXIST") return undefined;
    throw error;
  }
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
