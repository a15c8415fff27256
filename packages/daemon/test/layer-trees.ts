import { createHash } from "node:crypto";
import { lstatSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { pack } from "tar-stream";

export type Entry = {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "fifo";
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  body?: string;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
};

/** A layer tar of `entries`, written by tar-stream (an independent writer); owner root, one fixed mtime unless given. */
export async function tarOf(entries: Entry[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on("data", (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve) => archive.on("end", () => resolve()));
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) =>
      archive.entry({ mtime: new Date(1_600_000_000_000), uid: 0, gid: 0, ...header }, body ?? "", (e) => (e ? reject(e) : resolve())),
    );
  }
  archive.finalize();
  await done;
  return Buffer.concat(chunks);
}

/**
 * A tree as data: every path's type, permissions, owner, content, link target, device and
 * hard-link group; with `times`, also sizes and mtimes in seconds (not of symlinks).
 */
export function describeTree(root: string, options: { times?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const inodes = new Map<number, string>();
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      const type = stat.isDirectory()
        ? "dir"
        : stat.isSymbolicLink()
          ? "link"
          : stat.isFile()
            ? "file"
            : stat.isFIFO()
              ? "fifo"
              : stat.isCharacterDevice()
                ? "char"
                : "other";
      let detail = `${type} ${(stat.mode & 0o7777).toString(8)} ${stat.uid}:${stat.gid}`;
      if (options.times === true) detail += type === "link" ? ` size=${stat.size}` : ` size=${stat.size} mtime=${Math.floor(stat.mtimeMs / 1000)}`;
      if (type === "file") {
        detail += ` ${createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 12)}`;
        const first = inodes.get(stat.ino);
        if (first !== undefined) detail += ` hardlink-of ${first}`;
        else inodes.set(stat.ino, `${prefix}${name}`);
      }
      if (type === "link") detail += ` -> ${readlinkSync(path)}`;
      if (type === "char") detail += ` ${stat.rdev}`;
      out[`${prefix}${name}`] = detail;
      if (type === "dir") walk(path, `${prefix}${name}/`);
    }
  };
  walk(root, "");
  return out;
}
