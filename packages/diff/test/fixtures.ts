import { createHash } from "node:crypto";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lgetxattr, llistxattr, lsetxattr } from "@berth/libc";
import tar from "tar-stream";
import { afterEach, beforeEach } from "vitest";

/** A fresh temp dir per test, removed afterwards whether the test passed or not. */
export function useTempDir(): () => string {
  let dir: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "berth-test-diff-"));
  });
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => {
    if (dir === undefined) throw new Error("no temp dir");
    return dir;
  };
}

export type Entry = Partial<tar.Header> & Pick<tar.Header, "name"> & { content?: string | Buffer };

/** A plain tar of `entries`, written by tar-stream (an independent writer). */
export async function makeTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (error?: Error | null) => (error ? reject(error) : resolve());
      if (content !== undefined) pack.entry({ mtime: new Date(1_600_000_000_000), ...header }, Buffer.from(content), cb);
      else pack.entry({ mtime: new Date(1_600_000_000_000), ...header }, cb).end(undefined);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Rewrites the type flag of the header block at `offset` and its checksum. */
export function setTypeflag(tarBytes: Buffer, offset: number, flag: string): void {
  const block = tarBytes.subarray(offset, offset + 512);
  block.write(flag, 156, 1, "latin1");
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
}

export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export function sha256(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export async function kindOfFailure(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
    return "none";
  } catch (error) {
    const kind = (error as { kind?: unknown } | null)?.kind;
    return typeof kind === "string" ? kind : `not a BerthError: ${String(error)}`;
  }
}

export async function failureOf(action: () => Promise<unknown>): Promise<{ kind: string; message: string }> {
  try {
    await action();
  } catch (error) {
    const kind = (error as { kind?: unknown } | null)?.kind;
    return { kind: typeof kind === "string" ? kind : `not a BerthError`, message: String((error as Error).message) };
  }
  return { kind: "none", message: "" };
}

export function getXattr(path: string, name: string): Buffer | undefined {
  return lgetxattr(path, name);
}

export function setXattr(path: string, name: string, value: Buffer): void {
  lsetxattr(path, name, value);
}

function listXattrs(path: string): string[] {
  return llistxattr(path).sort();
}

/** Whether user.* xattrs work in the temp dir's filesystem (tmpfs may refuse them). */
export const userXattrsWork: boolean = (() => {
  const dir = mkdtempSync(join(tmpdir(), "berth-test-diff-probe-"));
  try {
    const file = join(dir, "f");
    writeFileSync(file, "");
    lsetxattr(file, "user.probe", Buffer.from("1"));
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

/**
 * A comparable description of every path below `root` (not root itself): type, mode, owner,
 * mtime in seconds, content digest, link target, device, user/security xattrs, and hard-link
 * groups (paths sharing an inode list each other).
 */
export function describeTree(root: string, options: { mtimes?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const byInode = new Map<string, string[]>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const childRel = rel === "" ? name : `${rel}/${name}`;
      const path = join(root, childRel);
      const st = lstatSync(path);
      const kind = st.isDirectory()
        ? "dir"
        : st.isSymbolicLink()
          ? "symlink"
          : st.isFile()
            ? "file"
            : st.isFIFO()
              ? "fifo"
              : st.isCharacterDevice()
                ? "char"
                : st.isBlockDevice()
                  ? "block"
                  : "other";
      const parts = [kind, `mode=${(st.mode & 0o7777).toString(8)}`, `owner=${st.uid}:${st.gid}`];
      if (options.mtimes !== false && kind !== "symlink") parts.push(`mtime=${Math.floor(st.mtimeMs / 1000)}`);
      if (kind === "file") parts.push(`content=${sha256(readFileSync(path)).slice(7, 19)}`);
      if (kind === "symlink") parts.push(`-> ${readlinkSync(path)}`);
      if (kind === "char" || kind === "block") parts.push(`rdev=${st.rdev}`);
      const xattrs = listXattrs(path).filter((n) => n.startsWith("user.") || n === "security.capability");
      for (const x of xattrs) parts.push(`${x}=${getXattr(path, x)?.toString("hex")}`);
      if (kind !== "dir" && st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        byInode.set(key, [...(byInode.get(key) ?? []), childRel]);
      }
      out[childRel] = parts.join(" ");
      if (kind === "dir") walk(childRel);
    }
  };
  walk("");
  for (const group of byInode.values()) {
    if (group.length > 1) for (const p of group) out[p] += ` links=${group.join(",")}`;
  }
  return out;
}
