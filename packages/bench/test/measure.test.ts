import { describe, expect, it } from "vitest";
import { TimeoutError, formatTable, mean, median, percentile, ratio, withTimeout } from "@berth/bench";

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
});
