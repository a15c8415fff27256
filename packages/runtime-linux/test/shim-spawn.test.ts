// The shim starts runc with posix_spawn (vfork), not Node's fork: the child must still get what
// Node's spawn gives it — its argv and environment, descriptors 0–2 as asked and no others than
// Node's spawn would hand on, every signal at its default and none blocked — and a missing binary
// must be an error, not a child.
import { execFileSync } from "node:child_process";
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { libc } from "@berth/libc";
import { spawnProcess } from "@berth/runtime-linux";
import { testDirectory } from "@berth/testkit";
import { afterAll, describe, expect, it } from "vitest";

const directory = testDirectory("shim-spawn");

afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** Waits for `pid` (our child, short-lived) and reaps it: its exit code. */
function exitOf(pid: number): number {
  const status = new Int32Array(1);
  expect(libc().waitpid(pid, status, 0)).toBe(pid);
  return (status[0]! >> 8) & 0xff;
}

describe("spawnProcess (posix_spawn, as the shim starts runc)", () => {
  it("hands on argv, the environment and descriptors 0–2, and nothing else; signals at their defaults", () => {
    const output = join(directory, "output");
    const out = openSync(output, "w");
    const script = [
      'printf "%s|%s|%s\\n" "$0" "$1" "$SPAWN_TEST"',
      "ls /proc/self/fd | tr '\\n' ' '; echo",
      "grep -E '^Sig(Blk|Ign):' /proc/self/status",
      "read line || echo stdin-empty",
    ].join("; ");
    let pid: number;
    try {
      pid = spawnProcess("sh", ["sh", "-c", script, "zero", "one two"], { ...process.env, SPAWN_TEST: "value" }, [null, out, out]);
    } finally {
      closeSync(out);
    }
    expect(exitOf(pid)).toBe(0);
    const lines = readFileSync(output, "utf8").trim().split("\n");
    expect(lines[0]).toBe("zero|one two|value");
    // What Node's spawn hands a child beside 0–2 (descriptors opened without close-on-exec, if any): the same.
    const byNode = execFileSync("sh", ["-c", "ls /proc/self/fd | tr '\\n' ' '"], { encoding: "utf8" });
    expect(lines[1]!.trim()).toBe(byNode.trim());
    expect(lines).toContain("SigBlk:\t0000000000000000");
    // glibc keeps its own signals 32 and 33 as they were (runc's glibc takes them over at start); every other is at its default.
    const ignored = BigInt(`0x${lines.find((line) => line.startsWith("SigIgn:"))!.split("\t")[1]}`);
    expect(ignored & ~0x180000000n).toBe(0n);
    expect(lines).toContain("stdin-empty");
  });

  it("reports a binary that is not on PATH as ENOENT, starting nothing", () => {
    expect(() => spawnProcess(`no-such-binary-${process.pid}`, ["x"], process.env, [null, null, null])).toThrow(/ENOENT/);
  });

  it("starts a binary by path, with the exit code it ends with", () => {
    const script = join(directory, "exit-3");
    writeFileSync(script, "#!/bin/sh\nexit 3\n", { mode: 0o755 });
    expect(exitOf(spawnProcess(script, [script], process.env, [null, null, null]))).toBe(3);
  });
});
