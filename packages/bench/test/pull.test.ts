import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { cpuSeconds, goDurationSeconds } from "@berth/bench";

describe("pull timings", () => {
  it("reads ctr's Go durations", () => {
    expect(goDurationSeconds("1.5s")).toBe(1.5);
    expect(goDurationSeconds("812.5ms")).toBeCloseTo(0.8125);
    expect(goDurationSeconds("1m2.5s")).toBe(62.5);
    expect(goDurationSeconds("950µs")).toBeCloseTo(0.00095);
    expect(() => goDurationSeconds("soon")).toThrow(/not a Go duration/);
  });

  it("reads the CPU a process spends, all its threads", async () => {
    // A child whose main thread and a worker each spin until they have used 0.4 s of CPU (their own,
    // so a loaded machine only makes it take longer), then stays until killed.
    const busy = `
      const { Worker } = require("node:worker_threads");
      const spin = "while (process.threadCpuUsage().user < 400000);";
      new Worker(spin, { eval: true }).on("exit", () => process.stdout.write("done\\n"));
      eval(spin);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["-e", busy], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await once(child, "spawn");
      const before = cpuSeconds(child.pid!);
      await once(child.stdout, "data");
      // More than one thread's worth: the worker's CPU is counted with the main thread's.
      expect(cpuSeconds(child.pid!) - before).toBeGreaterThan(0.6);
    } finally {
      child.kill();
    }
  });
});
