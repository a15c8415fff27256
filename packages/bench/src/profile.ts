import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The parts of V8's `.cpuprofile` (written by `node --cpu-prof`) that a summary reads. */
interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number } }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time of one process's profile, by module and by function, in milliseconds. */
export interface ProfileSummary {
  /** The program profiled: the first Berth package or script its profile names (e.g. `@berth/ctr bin/run.js`). */
  readonly program: string;
  readonly sampledMs: number;
  readonly byModule: ReadonlyMap<string, number>;
  readonly byFunction: ReadonlyMap<string, number>;
}

/**
 * What a script URL is counted as: Node's internals by area (`node:internal/modules/cjs`), a dependency by
 * package name, a Berth package as `@berth/<dir>`, V8's own entries (`(garbage collector)`) by name.
 */
export function moduleOf(url: string, functionName: string): string {
  if (url === "") return `(${functionName})`;
  if (url.startsWith("node:")) return url.split("/").slice(0, 3).join("/");
  const dependency = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (dependency !== null) return dependency[1]!;
  const berth = /\/packages\/([^/]+)\//.exec(url);
  if (berth !== null) return `@berth/${berth[1]!}`;
  return url.slice(url.lastIndexOf("/") + 1);
}

/** Where the profile's own code starts: the first Berth program file among its frames. */
function programOf(profile: CpuProfile): string {
  for (const { callFrame } of profile.nodes) {
    const entry = /\/packages\/([^/]+)\/((?:bin|dist)\/[^/]+\.[cm]?js)$/.exec(callFrame.url);
    if (entry !== null) return `@berth/${entry[1]!} ${entry[2]!}`;
  }
  return "(other)";
}

export function summariseProfile(profile: CpuProfile): ProfileSummary {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let sampledUs = 0;
  profile.samples.forEach((id, index) => {
    const frame = nodes.get(id);
    const us = profile.timeDeltas[index] ?? 0;
    if (frame === undefined) return;
    sampledUs += us;
    const module = moduleOf(frame.url, frame.functionName);
    byModule.set(module, (byModule.get(module) ?? 0) + us / 1000);
    const name = frame.url === "" ? module : `${frame.functionName || "(anonymous)"} ${module}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us / 1000);
  });
  return { program: programOf(profile), sampledMs: sampledUs / 1000, byModule, byFunction };
}

/** The `.cpuprofile` files directly in `directory`, summarised. */
export function summariseDirectory(directory: string): ProfileSummary[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith(".cpuprofile"))
    .map((name) => summariseProfile(JSON.parse(readFileSync(join(directory, name), "utf8")) as CpuProfile));
}

function top(totals: ReadonlyMap<string, number>, divisor: number, count: number): string[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => `    ${(ms / divisor).toFixed(1).padStart(8)} ms  ${name}`);
}

function addInto(totals: Map<string, number>, from: ReadonlyMap<string, number>): void {
  for (const [name, ms] of from) totals.set(name, (totals.get(name) ?? 0) + ms);
}

/**
 * A text report of every phase directory under `root` (one per benchmark suite): for each program profiled
 * in it, how many processes ran, and their self time per process by module and by function, largest first.
 */
export function profileReport(root: string, count = 15): string {
  const lines: string[] = [];
  const phases = readdirSync(root)
    .filter((name) => statSync(join(root, name)).isDirectory())
    .sort();
  for (const phase of phases) {
    const byProgram = new Map<string, ProfileSummary[]>();
    for (const summary of summariseDirectory(join(root, phase))) byProgram.set(summary.program, [...(byProgram.get(summary.program) ?? []), summary]);
    for (const [program, summaries] of [...byProgram].sort()) {
      const modules = new Map<string, number>();
      const functions = new Map<string, number>();
      for (const summary of summaries) {
        addInto(modules, summary.byModule);
        addInto(functions, summary.byFunction);
      }
      const sampled = summaries.reduce((sum, summary) => sum + summary.sampledMs, 0) / summaries.length;
      lines.push(`${phase}: ${program}, ${summaries.length} process(es), ${sampled.toFixed(1)} ms sampled per process`);
      lines.push("  self time by module, per process:", ...top(modules, summaries.length, count));
      lines.push("  self time by function, per process:", ...top(functions, summaries.length, count), "");
    }
  }
  return lines.join("\n");
}
