import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/** A FIFO at `path` (kept if there is one), made with coreutils' mkfifo: the suite runs where runc does. */
export function makeFifo(path: string, mode = 0o700): void {
  if (!existsSync(path)) execFileSync("mkfifo", ["-m", mode.toString(8), path]);
}
