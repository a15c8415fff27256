import type { Outcome } from "./measure.js";

export interface Row {
  readonly name: string;
  readonly lowerIsBetter: boolean;
  /** Decimals to print the values with. */
  readonly decimals: number;
  readonly berth: Outcome;
  /** Undefined when stock containerd is not installed. */
  readonly containerd: Outcome | undefined;
}

/** berth divided by containerd, when both are numbers. */
export function ratio(row: Row): number | undefined {
  return typeof row.berth === "number" && typeof row.containerd === "number" && row.containerd !== 0 ? row.berth / row.containerd : undefined;
}

function cell(value: Outcome | undefined, decimals: number): string {
  if (value === undefined) return "-";
  return typeof value === "number" ? value.toFixed(decimals) : value;
}

/** A plain-text table of the rows, with a legend saying which way is better. */
export function formatTable(rows: readonly Row[]): string {
  const header = ["benchmark", "berth", "containerd", "berth/containerd"];
  const lines = rows.map((row) => {
    const r = ratio(row);
    return [row.name, cell(row.berth, row.decimals), cell(row.containerd, row.decimals), r === undefined ? "-" : `${r.toFixed(2)}x`];
  });
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => (line[i] ?? "").length)));
  const format = (line: readonly string[]) =>
    line
      .map((text, i) => text.padEnd((widths[i] ?? 0) + 3))
      .join("")
      .trimEnd();
  // "namespaces get latency, mean (µs)" and its p50 and p99 rows are named once: "namespaces get latency".
  const topics = (lowerIsBetter: boolean) => [
    ...new Set(rows.filter((row) => row.lowerIsBetter === lowerIsBetter).map((row) => row.name.split(/,| \(/)[0] ?? row.name)),
  ];
  const better = (which: string, names: readonly string[]) => (names.length === 0 ? [] : [`${which} is better: ${names.join(", ")}`]);
  return [
    format(header),
    ...lines.map(format),
    "",
    [...better("lower", topics(true)), ...better("higher", topics(false))].join("; "),
    `"-": stock containerd not installed or no ratio; "n/a": not available; "timeout"/"failed": the benchmark failed (see stderr)`,
  ].join("\n");
}
