import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type CommandResult, runCommand } from "@berth/testkit";
import { type Outcome, median, timeMs } from "../measure.js";

/** Berth's ctr in this repository: packages/ctr/bin/run.js (from packages/bench/dist/suites). */
export const berthCtr: string = fileURLToPath(new URL("../../../ctr/bin/run.js", import.meta.url));

/** GNU time, for the peak RSS of a command (its maximum resident set, from wait4's rusage). */
const gnuTime = "/usr/bin/time";

export interface WallOptions {
  /** Bound of each run. */
  readonly timeoutMs?: number;
  /** Vets a run that exited 0 (throw to fail the measurement). */
  readonly check?: (result: CommandResult) => void;
}

async function runChecked(command: string, args: readonly string[], options: WallOptions): Promise<CommandResult> {
  const result = await runCommand(command, args, { timeoutMs: options.timeoutMs ?? 10_000 });
  if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${result.signal ?? result.code}: ${result.stderr.trim()}`);
  options.check?.(result);
  return result;
}

/** The median wall time in ms of `runs` runs of `command args` that exit 0, after one untimed run. */
export async function medianWallMs(command: string, args: readonly string[], runs = 15, options: WallOptions = {}): Promise<number> {
  await runChecked(command, args, options);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await timeMs(() => runChecked(command, args, options)));
  return median(samples);
}

/** A command line to time: the program and its arguments. */
export interface CommandLine {
  readonly command: string;
  readonly args: readonly string[];
}

/**
 * The median wall time in ms of each command line, run in turns (a round runs each once) so that
 * a burst of load on a shared machine falls on every one of them alike; one untimed round first.
 */
export async function interleavedMedianMs(lines: readonly CommandLine[], runs = 15, options: WallOptions = {}): Promise<number[]> {
  const samples = lines.map(() => [] as number[]);
  for (let round = -1; round < runs; round++) {
    for (const [i, { command, args }] of lines.entries()) {
      const ms = await timeMs(() => runChecked(command, args, options));
      if (round >= 0) samples[i]!.push(ms);
    }
  }
  return samples.map((values) => median(values));
}

/** The median peak RSS in MB of `runs` runs of a command (GNU time's %M); "n/a" without /usr/bin/time. */
export async function medianPeakRssMb({ command, args }: CommandLine, runs = 5, options: WallOptions = {}): Promise<Outcome> {
  if (!existsSync(gnuTime)) return "n/a";
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const result = await runChecked(gnuTime, ["-f", "peak-rss-kb %M", command, ...args], options);
    const match = /^peak-rss-kb (\d+)$/m.exec(result.stderr);
    if (match === null) throw new Error(`${gnuTime} printed no peak RSS: ${result.stderr.trim()}`);
    samples.push(Number(match[1]) / 1024);
  }
  return median(samples);
}

/** Cold start of `ctr --help`: Berth's (n/a while it does not exist) and stock ctr's. */
export async function berthCtrHelpMs(runs = 15): Promise<Outcome> {
  return existsSync(berthCtr) ? medianWallMs(process.execPath, [berthCtr, "--help"], runs) : "n/a";
}

export function stockCtrHelpMs(ctr: string, runs = 15): Promise<number> {
  return medianWallMs(ctr, ["--help"], runs);
}

/** The CLI start-up figures: `node -e 0` (the floor), and `ctr --help` and `ctr version` of both ctrs. */
export interface CliStartup {
  readonly nodeFloorMs: number;
  readonly helpMs: { readonly berth: number; readonly stock: number };
  readonly versionMs: { readonly berth: number; readonly stock: number };
  readonly versionPeakRssMb: { readonly berth: Outcome; readonly stock: Outcome };
}

/**
 * Times the CLIs interleaved: Berth's ctr `version` against berthd and stock ctr's against
 * containerd (each asks its own daemon), `--help` of both, and `node -e 0`.
 */
export async function cliStartup(stockCtr: string, berthAddress: string, stockAddress: string, runs = 15): Promise<CliStartup> {
  const node = process.execPath;
  const berthVersion = { command: node, args: [berthCtr, "--address", berthAddress, "version"] };
  const stockVersion = { command: stockCtr, args: ["--address", stockAddress, "version"] };
  const [nodeFloorMs, berthHelp, stockHelp, berthVersionMs, stockVersionMs] = await interleavedMedianMs(
    [{ command: node, args: ["-e", "0"] }, { command: node, args: [berthCtr, "--help"] }, { command: stockCtr, args: ["--help"] }, berthVersion, stockVersion],
    runs,
  );
  return {
    nodeFloorMs: nodeFloorMs!,
    helpMs: { berth: berthHelp!, stock: stockHelp! },
    versionMs: { berth: berthVersionMs!, stock: stockVersionMs! },
    versionPeakRssMb: { berth: await medianPeakRssMb(berthVersion), stock: await medianPeakRssMb(stockVersion) },
  };
}
