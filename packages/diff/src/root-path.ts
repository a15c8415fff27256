/**
 * Confining layer paths to the root they are applied to, as containerd's fs.RootPath does, with
 * one difference: a `..` that would climb above the root is an error instead of being clamped.
 *
 * - A name is cleaned lexically; a leading `/` is dropped (names are relative to the root).
 * - Every existing component is lstat'ed; a symlink is replaced by its target, read inside the
 *   root: an absolute target starts again at the root (chroot semantics), a relative one goes on
 *   from the link's directory. So `evil -> /` makes `evil/etc/x` mean `<root>/etc/x`.
 * - `..` (in names or link targets) walks up physical directories and may never leave the root.
 */
import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";
import { invalidArgument } from "@berth/api";

// Linux's MAXSYMLINKS.
const MAX_LINKS = 40;

/** `name` cleaned to root-relative components; throws InvalidArgument if `..` climbs above the root. */
export function cleanComponents(name: string, what: string): string[] {
  if (name.includes("\0")) throw invalidArgument(`${what}: name contains a NUL byte`);
  const parts: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) throw invalidArgument(`${what}: ${JSON.stringify(name)} points outside the root`);
      parts.pop();
    } else parts.push(part);
  }
  return parts;
}

/**
 * The physical path, inside `root`, of the directory `components` name, every symlink on the way
 * resolved within the root. Components that do not exist are kept as they are (to be created).
 * `root` must be absolute and itself free of symlinks the caller cares about.
 */
export async function resolveInRoot(root: string, components: readonly string[], what: string): Promise<string> {
  const resolved: string[] = [];
  // Components still to walk, next one last.
  const pending = [...components].reverse();
  let links = 0;
  while (pending.length > 0) {
    const part = pending.pop() as string;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (resolved.length === 0) throw invalidArgument(`${what}: path resolves outside the root`);
      resolved.pop();
      continue;
    }
    const candidate = join(root, ...resolved, part);
    if (await isSymlink(candidate)) {
      if (++links > MAX_LINKS) throw invalidArgument(`${what}: too many levels of symbolic links`);
      const target = await readlink(candidate);
      if (target.startsWith("/")) resolved.length = 0;
      for (const piece of target.split("/").reverse()) pending.push(piece);
      continue;
    }
    resolved.push(part);
  }
  return join(root, ...resolved);
}

async function isSymlink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Missing, or below a non-directory: nothing to follow (creating it will fail later if needed).
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    throw error;
  }
}

/** containerd's fs.RootPath: where `name` is inside `root`, every symlink on the way resolved within the root. */
export function rootPath(root: string, name: string): Promise<string> {
  return resolveInRoot(root, cleanComponents(name, name), name);
}
