import { invalidArgument } from "@berth/api";

/** Labels with empty values dropped: containerd never stores an empty label. */
export function withoutEmpty(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([, value]) => value !== ""));
}

/**
 * Applies the `labels` / `labels.<key>` paths of an update mask (with `prefix` naming the map
 * field) to `current`. Returns undefined when no path names this map. A path of another field is
 * left to the caller; this only reads the paths that start with `prefix`.
 */
export function applyMapPaths(
  current: Readonly<Record<string, string>>,
  incoming: Readonly<Record<string, string>>,
  paths: readonly string[],
  prefix: string,
): Record<string, string> | undefined {
  let next: Record<string, string> | undefined;
  for (const path of paths) {
    if (path === prefix) {
      next = { ...incoming };
    } else if (path.startsWith(`${prefix}.`)) {
      const key = path.slice(prefix.length + 1);
      if (key === "") throw invalidArgument(`update_mask: empty key in ${JSON.stringify(path)}`);
      next ??= { ...current };
      next[key] = incoming[key] ?? "";
    }
  }
  return next === undefined ? undefined : withoutEmpty(next);
}

/** Throws InvalidArgument for a path outside `allowed` (exact names, or `<name>.` prefixes for maps). */
export function checkPaths(paths: readonly string[], allowed: readonly string[], maps: readonly string[], what: string): void {
  for (const path of paths) {
    if (allowed.includes(path)) continue;
    if (maps.some((map) => path.startsWith(`${map}.`) && path.length > map.length + 1)) continue;
    throw invalidArgument(`update_mask: cannot update ${JSON.stringify(path)} field on ${what}`);
  }
}
