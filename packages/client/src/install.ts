import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createWriteStream } from "node:fs";
import { chmod, lchown, link, lstat, lutimes, mkdir, rm, symlink, utimes } from "node:fs/promises";
import { join, posix } from "node:path";
import { notFound } from "@berth/api";
import { decompressStream } from "@berth/diff";
import tar from "tar-stream";
import type { Client } from "./client.js";
import { hostManifest } from "./image-summary.js";
import { withLease } from "./lease.js";

export interface InstallOptions {
  /** Where to install (default: the daemon's `opt` plugin path, as containerd's client). */
  readonly path?: string;
  /** Install `lib/` too. */
  readonly libs?: boolean;
  /** Overwrite files already there (else an error names the first one). */
  readonly replace?: boolean;
}

/** Go's filepath.Clean of an entry name, as containerd's archive.Apply normalises it before filtering ("./bin/" → "bin"). */
const cleanName = (name: string) => posix.normalize(name).replace(/(.)\/$/, "$1");

const exists = (path: string) =>
  lstat(path).then(
    () => true,
    () => false,
  );

/** The install path the daemon's `opt` plugin exports (containerd's client.getInstallPath). */
async function optPath(client: Client): Promise<string> {
  const plugins = await client.plugins(["id==opt"]);
  if (plugins.length !== 1) throw new Error("opt service not enabled");
  const path = plugins[0]!.exports.path;
  if (!path) throw new Error("opt path not exported");
  return path;
}

/**
 * Installs an image's binaries as containerd's client.Install (`ctr install`): from each layer of the
 * host platform's manifest, the entries directly under `bin/` (and `lib/` with `libs`) are written
 * under the install path with their modes, owners and times; without `replace`, an entry already
 * there stops the install with an error naming it.
 */
export async function installImage(client: Client, name: string, options: InstallOptions = {}): Promise<void> {
  await withLease(client, async (context) => {
    const image = await client.images.get(context, name);
    const root = options.path || (await optPath(client));
    const { manifest } = await hostManifest(client.content, context, image.target);
    if (manifest === undefined) throw notFound(`image ${name}: no manifest for this platform`);
    const wanted = new Set(options.libs ? ["bin", "lib"] : ["bin"]);
    for (const layer of manifest.layers) {
      const extract = tar.extract();
      const source = Readable.from(decompressStream(client.content.read(context, layer.digest)));
      source.on("error", (error) => extract.destroy(error));
      source.pipe(extract);
      const directories: { path: string; time: Date }[] = [];
      for await (const entry of extract) {
        const header = entry.header;
        const name = cleanName(header.name);
        if (!wanted.has(posix.dirname(name))) {
          entry.resume();
          continue;
        }
        const target = join(root, name);
        if (!options.replace && (await exists(target))) {
          entry.resume();
          extract.destroy();
          throw new Error(`cannot replace ${name} in ${root}`);
        }
        // As containerd's archive.Apply: parents inside the install path are made, the path itself is not.
        if (!(await exists(root))) throw new Error(`mkdir ${join(root, posix.dirname(name))}: no such file or directory`);
        await mkdir(join(target, ".."), { recursive: true, mode: 0o755 });
        const mode = (header.mode ?? 0o644) & 0o7777;
        const time = header.mtime ?? new Date(0);
        if (header.type === "directory") {
          entry.resume();
          await mkdir(target, { recursive: true, mode });
          directories.push({ path: target, time });
        } else {
          if (await exists(target)) await rm(target, { recursive: true, force: true });
          if (header.type === "symlink") {
            entry.resume();
            await symlink(header.linkname ?? "", target);
          } else if (header.type === "link") {
            entry.resume();
            await link(join(root, header.linkname ?? ""), target);
          } else if (header.type === "file" || header.type === "contiguous-file") {
            await pipeline(entry, createWriteStream(target, { mode }));
          } else {
            entry.resume();
            continue;
          }
        }
        await lchown(target, header.uid ?? 0, header.gid ?? 0);
        if (header.type !== "symlink") await chmod(target, mode);
        if (header.type === "symlink") await lutimes(target, time, time);
        else await utimes(target, time, time);
      }
      for (const directory of directories) await utimes(directory.path, directory.time, directory.time);
    }
  });
}
