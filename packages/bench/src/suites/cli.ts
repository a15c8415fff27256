import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type CommandResult, runCommand } from "@berth/testkit";
import { type Outcome, median, timeMs } from "../measure.js";

/** Berth's ctr in this repository: packages/ctr/bin/run.js (from packages/bench/dist/suites). */
export const berthCtr: string = fileURLToPath(new URL("../../../ctr/bin/run.js", import.meta.url));

export interface WallOptions {
  /** Bound of each run. */
  readonly timeoutMs?: number;
  /** Vets a run that exited 0 (throw to fail the measurement). */
  readonly check?: (result: CommandResult) => void;
}

/** The median wall time in ms of `runs` runs of `command args` that exit 0, after one untimed run. */
export async function medianWallMs(command: string, args: readonly string[], runs = 15, options: WallOptions = {}): Promise<number> {
  const once = async () => {
    const result = await runCommand(command, args, { timeoutMs: options.timeoutMs ?? 10_000 });
    if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${result.signal ?? result.code}: ${result.stderr.trim()}`);
    options.check?.(result);
  };
  await once();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await timeMs(once));
  return median(samples);
}

/** Cold start of `ctr --help`: Berth's (n/a while it does not exist) and stock ctr's. */
export async function berthCtrHelpMs(runs = 15): Promise<Outcome> {
  return existsSync(berthCtr) ? medianWallMs(process.execPath, [berthCtr, "--help"], runs) : "n/a";
}

export function stockCtrHelpMs(ctr: string, runs = 15): Promise<number> {
  return medianWallMs(ctr, ["--help"], runs);
}
