import { describe, expect, it } from "vitest";
import { goDurationSeconds } from "@berth/bench";

describe("pull timings", () => {
  it("reads ctr's Go durations", () => {
    expect(goDurationSeconds("1.5s")).toBe(1.5);
    expect(goDurationSeconds("812.5ms")).toBeCloseTo(0.8125);
    expect(goDurationSeconds("1m2.5s")).toBe(62.5);
    expect(goDurationSeconds("950µs")).toBeCloseTo(0.00095);
    expect(() => goDurationSeconds("soon")).toThrow(/not a Go duration/);
  });
});
