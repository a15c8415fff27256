import type { Client } from "@berth/client";
import type { RunningDaemon } from "@berth/testkit";
import type { Outcome } from "./measure.js";
import type { Row } from "./table.js";

export type Side = "berth" | "containerd";

/** A daemon under test, through its client. */
export interface Target {
  readonly side: Side;
  readonly daemon: RunningDaemon;
  readonly client: Client;
  /** Whether its event subscriptions announce themselves (stock containerd's do not before the first event). */
  readonly subscriptionsReady: boolean;
  /** Its `/v1/metrics` URL. */
  readonly metricsUrl: string;
}

/** Results of one benchmark on both sides; containerd's is undefined when it is not installed. */
export interface Both<T> {
  readonly berth: Outcome<T>;
  readonly containerd: Outcome<T> | undefined;
}

/** Runs a benchmark on every target in turn, each failure becoming its outcome word. */
export type OnBoth = <T>(label: string, run: (target: Target) => Promise<T>) => Promise<Both<T>>;

export function row<T>(name: string, lowerIsBetter: boolean, decimals: number, results: Both<T>, pick: (result: T) => number): Row {
  const value = (outcome: Outcome<T>) => (typeof outcome === "string" ? outcome : pick(outcome));
  return { name, lowerIsBetter, decimals, berth: value(results.berth), containerd: results.containerd === undefined ? undefined : value(results.containerd) };
}

/** The suites `npm run bench` runs; `--only a,b` picks some. */
export const suiteNames = [
  "grpc",
  "events",
  "cli",
  "images",
  "snapshots",
  "layers",
  "pull",
  "content",
  "run",
  "containers",
  "memory",
  "checkpoint",
  "metrics",
  "cri",
] as const;
export type Suite = (typeof suiteNames)[number];

/** The suites named by `--only a,b` (all without it); throws on an unknown name. */
export function selectedSuites(args: readonly string[]): ReadonlySet<Suite> {
  const index = args.indexOf("--only");
  if (index < 0) return new Set(suiteNames);
  const names = (args[index + 1] ?? "").split(",").filter((name) => name !== "");
  const unknown = names.filter((name) => !(suiteNames as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0)
    throw new Error(`--only takes a comma-separated list of ${suiteNames.join(", ")}${unknown.length > 0 ? `; not ${unknown.join(", ")}` : ""}`);
  return new Set(names as Suite[]);
}

/** The value of `--<name> <value>`, if given. */
export function optionValue(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  const value = index < 0 ? undefined : args[index + 1];
  return value === undefined || value.startsWith("--") ? undefined : value;
}
