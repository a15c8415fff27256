import { readFileSync } from "node:fs";
import { runCommand } from "@berth/testkit";
import { timeMs } from "../measure.js";

/** Seconds of a Go time.Duration string ("1.25s", "812.4ms", "1m2.5s", "950µs"). */
export function goDurationSeconds(text: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, µs: 1e-6, us: 1e-6, ns: 1e-9 };
  let seconds = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(h|ms|m|s|µs|us|ns)/g, (_, value: string, unit: string) => {
    seconds += Number(value) * units[unit]!;
    return "";
  });
  if (rest !== "" || text === "") throw new Error(`not a Go duration: ${JSON.stringify(text)}`);
  return seconds;
}

/** One `ctr images pull`: its wall time split as ctr reports it (the unpack's "done: …" line; the rest is fetching). */
export interface PullTiming {
  readonly totalS: number;
  readonly fetchS: number;
  readonly unpackS: number;
  /** CPU time the daemon spent meanwhile, all its threads, user and system; with `daemonPid` only. */
  readonly daemonCpuS?: number;
}

export interface PullOptions {
  /** The ctr to run, as command and leading arguments (stock ctr, or node and Berth's ctr). */
  readonly ctr: readonly string[];
  readonly address: string;
  readonly namespace: string;
  readonly ref: string;
  readonly timeoutMs?: number;
  /** The daemon's pid, to read the CPU time it spends on the pull. */
  readonly daemonPid?: number;
}

/**
 * CPU seconds process `pid` has used so far, all threads, user and system: fields 14 and 15 of
 * /proc/<pid>/stat, in clock ticks of 1/100 s (Linux's USER_HZ on every architecture it runs on here).
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // "pid (comm) state …": comm may hold spaces and parentheses, so count fields after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Times `ctr -n <namespace> images pull --plain-http <ref>` against a daemon. Stock ctr and Berth's
 * ctr print the same lines, so both sides are measured alike: the whole command from the outside,
 * the unpack from ctr's own "done: <duration>" line (the command's start-up counts as fetching).
 */
export async function ctrPull(options: PullOptions): Promise<PullTiming> {
  const [command, ...prefix] = options.ctr;
  const args = [...prefix, "--address", options.address, "-n", options.namespace, "images", "pull", "--plain-http", options.ref];
  let output = "";
  const pid = options.daemonPid;
  const cpuBefore = pid === undefined ? undefined : cpuSeconds(pid);
  const totalMs = await timeMs(async () => {
    const result = await runCommand(command!, args, { timeoutMs: options.timeoutMs ?? 120_000 });
    if (result.code !== 0) throw new Error(`${options.ctr.join(" ")} images pull exited with ${result.signal ?? result.code}: ${result.stderr.trim()}`);
    output = result.stdout;
  });
  const done = /^done: (\S+)\t?$/m.exec(output);
  if (done === null) throw new Error(`ctr images pull printed no "done:" line:\n${output}`);
  const unpackS = goDurationSeconds(done[1]!);
  const daemonCpuS = pid === undefined || cpuBefore === undefined ? undefined : cpuSeconds(pid) - cpuBefore;
  return { totalS: totalMs / 1000, unpackS, fetchS: totalMs / 1000 - unpackS, ...(daemonCpuS === undefined ? {} : { daemonCpuS }) };
}

/** The pull benchmarks of one side: a cold pull, a re-pull in the same namespace, and a pull into a new namespace. */
export interface PullSuite {
  readonly cold: PullTiming;
  readonly sameNamespace: PullTiming;
  readonly newNamespace: PullTiming;
}

/** Runs the three pulls in order on fresh namespaces of `prefix`; the daemon must not have the image yet. */
export async function pullSuite(options: Omit<PullOptions, "namespace"> & { readonly prefix: string }): Promise<PullSuite> {
  const first = { ...options, namespace: `${options.prefix}-first` };
  const cold = await ctrPull(first);
  const sameNamespace = await ctrPull(first);
  const newNamespace = await ctrPull({ ...options, namespace: `${options.prefix}-second` });
  return { cold, sameNamespace, newNamespace };
}
