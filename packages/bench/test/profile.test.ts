import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { moduleOf, profileReport, summariseDirectory } from "@berth/bench";
import { runCommand } from "@berth/testkit";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

describe("CPU profile summaries", () => {
  it("counts a script's URL as Node's area, a dependency, a Berth package or V8's own entry", () => {
    expect(moduleOf("node:internal/modules/cjs/loader", "load")).toBe("node:internal/modules/cjs");
    expect(moduleOf("file:///w/node_modules/@grpc/grpc-js/build/src/call.js", "f")).toBe("@grpc/grpc-js");
    expect(moduleOf("file:///w/node_modules/a/node_modules/undici/lib/x.js", "f")).toBe("undici");
    expect(moduleOf("file:///w/packages/cli-kit/dist/launch.js", "f")).toBe("@berth/cli-kit");
    expect(moduleOf("", "garbage collector")).toBe("(garbage collector)");
  });

  it("finds where a real profiled process spent its time", async () => {
    const root = mkdtempSync(join(tmpdir(), "berth-test-profile-"));
    directories.push(root);
    const phase = join(root, "spin");
    mkdirSync(phase);
    const script = "function spinForAWhile(){let x=0;const end=Date.now()+300;while(Date.now()<end)x+=Math.sqrt(x+1);return x}spinForAWhile()";
    const result = await runCommand(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${phase}`, "-e", script]);
    expect(result.code).toBe(0);

    const [summary] = summariseDirectory(phase);
    expect(summary?.sampledMs).toBeGreaterThan(0);
    const [hottest] = [...summary!.byFunction].sort((a, b) => b[1] - a[1]);
    expect(hottest?.[0]).toMatch(/^spinForAWhile /);

    const report = profileReport(root);
    expect(report).toMatch(/^spin: \(other\), 1 process\(es\), [\d.]+ ms sampled per process$/m);
    expect(report).toMatch(/ms {2}spinForAWhile /);
  });
});
