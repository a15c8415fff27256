// Kubernetes' own CRI validation suite (critest 1.26) against berthd, with the offline kit.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CriKit, type CritestResult, criKitMissing, runCritest, startCriKit, stockPassing } from "@berth/testkit";

const ratchet = readFileSync(new URL("critest-passing.txt", import.meta.url), "utf8")
  .split("\n")
  .filter(Boolean);

describe.skipIf(criKitMissing !== undefined)("critest against berthd", () => {
  let kit: CriKit;
  let result: CritestResult;

  beforeAll(async () => {
    kit = await startCriKit();
    result = await runCritest(kit);
    // The kit's own totals line, for CI's log.
    console.log(`critest on berthd: ${result.passed.length} passed, ${result.failed.length} failed, ${result.skipped.length} skipped`);
  }, 1_800_000);
  afterAll(async () => {
    await kit?.cleanup();
  }, 300_000);

  it("passes every spec stock containerd 1.6.20 passes (critest-passing.txt), and fails none", () => {
    const passed = new Set(result.passed);
    expect(
      ratchet.filter((spec) => !passed.has(spec)),
      result.failures,
    ).toEqual([]);
    expect(result.failed, result.failures).toEqual([]);
  });

  it("passes exactly the specs stock containerd passes", () => {
    expect([...result.passed].sort()).toEqual([...stockPassing()].sort());
  });
});
