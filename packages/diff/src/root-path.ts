/**
 * Confining layer paths to the root they are applied to, as containerd's fs.RootPath does: every
 * path is resolved as if the root were `/`, so nothing can ever name a place outside it.
 *
 * - A name is cleaned lexically; a leading `/` is dropped and a `..` above the root stays at the
 *   root (`../x` is `<root>/x`), as `..` does at `/`.
 * - Every existing component is lstat'ed; a symlink is replaced by its target, read inside the
 *   root: an absolute target starts again at the root, a relative one goes on from the link's
 *   directory. The target is cleaned lexically against that directory first (continuity joins
 *   it with the path resolved so far), and its `..` stop at the root too. So `evil -> /` makes
 *   `evil/etc/x` mean `<root>/etc/x`, and `evil -> ../../../../etc` makes it `<root>/etc/x`.
 */
import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";
import { invalidArgument } from "@berth/api";

// continuity's limit on links followed while resolving one path.
const MAX_LINKS = 255;

/** `name` cleaned to root-relative components, `..` clamped at the root. */
export function cleanComponents(name: string, what: string): string[] {
  if (name.includes("\0")) throw invalidArgument(`${what}: name contains a NUL byte`);
  return clean(name.split("/")).parts;
}

/** Lexical cleaning: `.` and empty parts go, `..` cancels the part before it; the `..` left over lead. */
function clean(pieces: readonly string[]): { ups: number; parts: string[] } {
  const parts: string[] = [];
  let ups = 0;
  for (const part of pieces) {
    if (part === "" || part === ".") continue;
    if (part !== "..") parts.push(part);
    else if (parts.length > 0) parts.pop();
    else ups++;
  }
  return { ups, parts };
}

/**
 * The physical path, inside `root`, of the directory `components` name, every symlink on the way
 * resolved within the root. Components that do not exist are kept as they are (to be created).
 * `components` may hold `..` (hard link targets are not cleaned first, as in containerd): it
 * leaves the directory resolved so far, and stays at the root.
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
      resolved.pop();
      continue;
    }
    const candidate = join(root, ...resolved, part);
    if (await isSymlink(candidate)) {
      if (++links > MAX_LINKS) throw invalidArgument(`${what}: too many levels of symbolic links`);
      const target = await readlink(candidate);
      const { ups, parts } = clean(target.split("/"));
      resolved.length = target.startsWith("/") ? 0 : Math.max(0, resolved.length - ups);
      for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i] as string);
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
