import { execFileSync } from "node:child_process";

export type { LoopBtrfs } from "@berth/testkit";
export { makeLoopBtrfs } from "@berth/testkit";

/** Runs a command to completion; its stdout. Throws with its stderr on failure. */
export function run(command: string, ...args: string[]): string {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** The subvolume id of the subvolume `path` is the root of, from the btrfs command. */
export function rootId(path: string): number {
  return Number(run("btrfs", "inspect-internal", "rootid", path).trim());
}

/** "ro=true" or "ro=false": the read-only property of subvolume `path`. */
export function readonlyProperty(path: string): string {
  return run("btrfs", "property", "get", "-ts", path, "ro").trim();
}

/** Subvolume paths relative to the top of the filesystem mounted at `mnt`, by id. */
export function subvolumePaths(mnt: string): Map<number, string> {
  const paths = new Map<number, string>();
  for (const line of run("btrfs", "subvolume", "list", mnt).split("\n")) {
    const match = /^ID ([0-9]+) .* path (.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) paths.set(Number(match[1]), match[2]);
  }
  return paths;
}
