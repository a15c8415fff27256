/**
 * computeLayer: an uncompressed OCI layer with the changes from `lower` to `upper`, like
 * containerd's archive.WriteDiff over continuity's fs.Changes: a sorted double walk, `.wh.<name>`
 * for deletions, parents of every change included, hard links kept within the layer.
 */
import type { BigIntStats } from "node:fs";
import { lstat, open, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { invalidArgument } from "@berth/api";
import { lgetxattrs } from "@berth/libc";
import { major, minor } from "./device-numbers.js";
import { END_OF_ARCHIVE, type TarHeader, encodeHeader, padding } from "./tar-writer.js";
import type { EntryType } from "./tar-reader.js";

const CHUNK = 128 * 1024;

/** xattrs that describe the host or the overlay mechanics, not the image. */
function portableXattr(name: string): boolean {
  return !name.startsWith("trusted.overlay.") && name !== "security.selinux";
}

export async function* computeLayer(lower: string, upper: string): AsyncGenerator<Uint8Array> {
  const writer = new ChangeWriter(upper);
  yield* writer.walk(lower, "");
  yield END_OF_ARCHIVE;
}

class ChangeWriter {
  /** Directories already in the tar (root-relative, no trailing slash). */
  private readonly emittedDirs = new Set<string>();
  /** First tar name written for an inode with several links. */
  private readonly inodeSource = new Map<string, string>();
  /** Unchanged paths sharing an inode none of whose paths is in the tar yet. */
  private readonly inodeRefs = new Map<string, string[]>();

  constructor(private readonly upper: string) {}

  /** The changes under `rel`, a directory in upper that may or may not be one in lower. */
  async *walk(lowerRoot: string | undefined, rel: string): AsyncGenerator<Uint8Array> {
    const upperNames = await listDir(join(this.upper, rel));
    const lowerNames = lowerRoot === undefined ? [] : await listDir(join(lowerRoot, rel));
    const names = [...new Set([...upperNames, ...lowerNames])].sort(compareNames);
    const inUpper = new Set(upperNames);
    const inLower = new Set(lowerNames);
    for (const name of names) {
      const childRel = rel === "" ? name : `${rel}/${name}`;
      if (!inUpper.has(name)) {
        yield* this.emitWhiteout(childRel);
        continue;
      }
      const upperPath = join(this.upper, childRel);
      const u = await lstat(upperPath, { bigint: true });
      if (u.isSocket()) continue; // not representable in tar (containerd skips them too)
      let l: BigIntStats | undefined;
      if (lowerRoot !== undefined && inLower.has(name)) l = await lstat(join(lowerRoot, childRel), { bigint: true });
      const unchanged = l !== undefined && (await sameFile(join(lowerRoot as string, childRel), upperPath, l, u));
      if (!unchanged) yield* this.emitEntry(childRel, u);
      else if (!u.isDirectory() && u.nlink > 1n) yield* this.noteUnchangedLink(childRel, u);
      if (u.isDirectory()) yield* this.walk(l?.isDirectory() === true ? lowerRoot : undefined, childRel);
    }
  }

  private async *emitWhiteout(rel: string): AsyncGenerator<Uint8Array> {
    yield* this.includeParents(rel);
    const slash = rel.lastIndexOf("/");
    const name = `${rel.slice(0, slash + 1)}.wh.${rel.slice(slash + 1)}`;
    // Epoch time rather than containerd's "now": the same change gives the same layer.
    yield encodeHeader({ name, type: "file", mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 });
  }

  private async *emitEntry(rel: string, stats: BigIntStats): AsyncGenerator<Uint8Array> {
    yield* this.includeParents(rel);
    const path = join(this.upper, rel);
    const header = await headerOf(path, rel, stats);
    let extraLinks: string[] = [];
    if (!stats.isDirectory() && stats.nlink > 1n) {
      const inode = inodeKey(stats);
      const source = this.inodeSource.get(inode);
      if (source !== undefined) {
        Object.assign(header, { type: "link", linkname: source, size: 0 });
      } else {
        this.inodeSource.set(inode, header.name);
        extraLinks = this.inodeRefs.get(inode) ?? [];
        this.inodeRefs.delete(inode);
      }
    }
    if (header.type === "directory") this.emittedDirs.add(rel);
    yield encodeHeader(header);
    if (header.type === "file" && header.size > 0) {
      yield* readExactly(path, header.size);
      yield padding(header.size);
    }
    // Unchanged paths seen earlier that share this inode become links to it.
    for (const extra of extraLinks) {
      yield* this.includeParents(extra);
      yield encodeHeader({ ...header, name: extra, type: "link", linkname: header.name, size: 0 });
    }
  }

  private async *noteUnchangedLink(rel: string, stats: BigIntStats): AsyncGenerator<Uint8Array> {
    const inode = inodeKey(stats);
    const source = this.inodeSource.get(inode);
    if (source === undefined) {
      this.inodeRefs.set(inode, [...(this.inodeRefs.get(inode) ?? []), rel]);
      return;
    }
    // Its inode is in the layer under another name: keep the link.
    yield* this.emitEntry(rel, stats);
  }

  /** Parent directories of a change go in first, so the layer applies anywhere with their metadata. */
  private async *includeParents(rel: string): AsyncGenerator<Uint8Array> {
    const parts = rel.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (this.emittedDirs.has(dir)) continue;
      this.emittedDirs.add(dir);
      const path = join(this.upper, dir);
      yield encodeHeader(await headerOf(path, dir, await lstat(path, { bigint: true })));
    }
  }
}

async function headerOf(path: string, rel: string, stats: BigIntStats): Promise<TarHeader> {
  const type = typeOf(stats);
  if (type === undefined) throw invalidArgument(`${path}: unsupported file type`);
  const xattrs = new Map([...lgetxattrs(path)].filter(([name]) => portableXattr(name)));
  return {
    name: type === "directory" ? `${rel}/` : rel,
    type,
    mode: Number(stats.mode & 0o7777n),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    size: type === "file" ? Number(stats.size) : 0,
    // Whole seconds, as containerd (it truncates for compatibility with non-PAX readers).
    mtime: Number(stats.mtimeNs / 1_000_000_000n),
    linkname: type === "symlink" ? await readlink(path) : "",
    devmajor: type === "char" || type === "block" ? major(stats.rdev) : 0,
    devminor: type === "char" || type === "block" ? minor(stats.rdev) : 0,
    xattrs,
  };
}

function typeOf(stats: BigIntStats): EntryType | undefined {
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "directory";
  if (stats.isSymbolicLink()) return "symlink";
  if (stats.isCharacterDevice()) return "char";
  if (stats.isBlockDevice()) return "block";
  if (stats.isFIFO()) return "fifo";
  return undefined;
}

/** continuity's sameFile, plus every portable xattr and the symlink target. */
async function sameFile(lowerPath: string, upperPath: string, l: BigIntStats, u: BigIntStats): Promise<boolean> {
  if (l.dev === u.dev && l.ino === u.ino) return true;
  if (l.mode !== u.mode || l.uid !== u.uid || l.gid !== u.gid || l.rdev !== u.rdev) return false;
  if (!sameXattrs(lgetxattrs(lowerPath), lgetxattrs(upperPath))) return false;
  if (u.isDirectory()) return l.mtimeNs === u.mtimeNs;
  if (l.size !== u.size) return false;
  if (u.isSymbolicLink() && (await readlink(lowerPath)) !== (await readlink(upperPath))) return false;
  const second = 1_000_000_000n;
  if (l.mtimeNs / second !== u.mtimeNs / second) return false;
  // Same second: if both look truncated (copied by a tool without nanoseconds), the content decides.
  if (l.mtimeNs % second === 0n && u.mtimeNs % second === 0n) {
    return !u.isFile() || l.size === 0n || (await sameContent(lowerPath, upperPath));
  }
  return l.mtimeNs === u.mtimeNs;
}

function sameXattrs(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  const portable = (m: Map<string, Buffer>) => [...m].filter(([name]) => portableXattr(name));
  const pa = portable(a);
  const pb = new Map(portable(b));
  return pa.length === pb.size && pa.every(([name, value]) => pb.get(name)?.equals(value) === true);
}

async function sameContent(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, "r"), open(b, "r")]);
  try {
    const ba = Buffer.alloc(CHUNK);
    const bb = Buffer.alloc(CHUNK);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, CHUNK, null), fb.read(bb, 0, CHUNK, null)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/** Exactly `size` bytes of the file, which must not have shrunk since it was stat'ed. */
async function* readExactly(path: string, size: number): AsyncGenerator<Buffer> {
  const file = await open(path, "r");
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.alloc(Math.min(CHUNK, left));
      const { bytesRead } = await file.read(buf, 0, buf.length, null);
      if (bytesRead === 0) throw invalidArgument(`${path}: file shrank while being read`);
      left -= bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw error;
  }
}

function inodeKey(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}`;
}

/** Byte order of the UTF-8 names, so the order does not depend on the locale or on UTF-16. */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
