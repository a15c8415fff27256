import { describe, expect, it } from "vitest";
import { TimeoutError, formatTable, mean, median, percentile, ratio, selectedSuites, suiteNames, withTimeout } from "@berth/bench";

describe("measure", () => {
  it("takes nearest-rank percentiles", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(median([3, 1, 2])).toBe(2);
    expect(mean([1, 2, 3, 6])).toBe(3);
  });

  it("times out with a TimeoutError", async () => {
    await expect(withTimeout(new Promise(() => {}), 10, () => "never")).rejects.toBeInstanceOf(TimeoutError);
  });
});

describe("table", () => {
  it("prints ratios of numbers only, and '-' for a missing containerd", () => {
    const rows = [
      { name: "latency, mean (µs)", lowerIsBetter: true, decimals: 0, berth: 300, containerd: 200 },
      { name: "events/s, 1 subscriber", lowerIsBetter: false, decimals: 0, berth: "timeout", containerd: 1000 },
      { name: "ctr --help (ms)", lowerIsBetter: true, decimals: 1, berth: 12.34, containerd: undefined },
    ];
    expect(ratio(rows[0]!)).toBe(1.5);
    const lines = formatTable(rows).split("\n");
    expect(lines[1]).toMatch(/^latency, mean \(µs\)\s+300\s+200\s+1\.50x$/);
    expect(lines[2]).toMatch(/timeout\s+1000\s+-$/);
    expect(lines[3]).toMatch(/12\.3\s+-\s+-$/);
    expect(lines).toContain("lower is better: latency, ctr --help; higher is better: events/s");
  });

  it("names only the directions its rows have in the legend", () => {
    const lines = formatTable([{ name: "memory per task, 50 tasks, PSS (MB)", lowerIsBetter: true, decimals: 2, berth: 3.4, containerd: 2.8 }]).split("\n");
    expect(lines).toContain("lower is better: memory per task");
  });
});

describe("--only", () => {
  it("selects the named suites, all without it, and refuses unknown names", () => {
    expect([...selectedSuites(["--only", "run,memory"])]).toEqual(["run", "memory"]);
    expect(selectedSuites(["--json", "out.json"]).size).toBe(suiteNames.length);
    expect(() => selectedSuites(["--only", "run,tasks"])).toThrow(/not tasks$/);
    expect(() => selectedSuites(["--only"])).toThrow(/comma-separated list of grpc/);
  });
});
