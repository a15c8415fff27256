import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** mountinfo escapes space, tab, newline and backslash as octal (\040 …). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Every mount point of this process's mount namespace, in mount order (as /proc/self/mountinfo lists them). */
export function mountPoints(): string[] {
  const points: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const field = line.split(" ")[4];
    if (field !== undefined) points.push(unescape(field));
  }
  return points;
}

/**
 * The mount points at or below `directory`, deepest and latest first: the order to unmount them
 * in. A mount point is listed once however many mounts are stacked on it.
 */
export function mountPointsUnder(directory: string): string[] {
  const base = resolve(directory);
  const inside = (point: string) => point === base || point.startsWith(base === "/" ? "/" : `${base}/`);
  const found = [...new Set(mountPoints().filter(inside).reverse())];
  return found.sort((a, b) => b.split("/").length - a.split("/").length);
}
