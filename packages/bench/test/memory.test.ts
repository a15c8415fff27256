import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { helperProcesses, memoryOf } from "@berth/bench";

const address = `/tmp/berth-bench-memory-test-${process.pid}.sock`;
const started: ChildProcess[] = [];

/** `sh -c script arg0 args...` in a process group of its own; the group is killed after the tests. */
function shell(script: string, ...args: string[]): ChildProcess {
  const child = spawn("sh", ["-c", script, ...args], { detached: true, stdio: "ignore" });
  started.push(child);
  return child;
}

afterAll(() => {
  for (const child of started) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // gone
    }
  }
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe("helper processes", () => {
  it("are the daemon, the shims given -address <its socket>, and their descendants outside other pid namespaces", async () => {
    const daemon = shell("sleep 1000 & wait");
    // A shim: one child beside it, and a "container" (sleep as pid 1 of a new pid namespace).
    const shim = shell("sleep 1000 & unshare --pid --fork --kill-child sleep 1000 & wait", "-address", address);
    // Not helpers: ctr's double-dash flag, and a shim of another daemon.
    const ctrLike = shell("sleep 1000 & wait", "--address", address);
    const other = shell("sleep 1000 & wait", "-address", `${address}.other`);
    await settle();

    const found = helperProcesses(daemon.pid!, address);
    const pids = new Set(found.map(({ pid }) => pid));
    expect(pids.has(daemon.pid!)).toBe(true);
    expect(pids.has(shim.pid!)).toBe(true);
    for (const outsider of [ctrLike, other]) expect(pids.has(outsider.pid!)).toBe(false);
    // sh and sleep of the daemon; sh, sleep and unshare of the shim; not the sleep inside the new pid namespace.
    expect(found.map(({ command }) => command).sort()).toEqual(["sh", "sh", "sleep", "sleep", "unshare"]);

    const memory = await memoryOf([...pids]);
    expect(memory.processes).toBe(5);
    expect(memory.rssKb).toBeGreaterThan(0);
    expect(memory.pssKb).toBeGreaterThan(0);
    // Shared pages (sh's, sleep's) are split between the processes in PSS and counted in full in RSS.
    expect(memory.pssKb).toBeLessThan(memory.rssKb);
  });

  it("counts a process that exited meanwhile as nothing, and fails for a daemon that is gone", async () => {
    const gone = shell("exit 0");
    await new Promise((resolve) => gone.once("exit", resolve));
    expect(await memoryOf([gone.pid!])).toEqual({ processes: 0, rssKb: 0, pssKb: 0 });
    expect(() => helperProcesses(gone.pid!, address)).toThrow(/is gone/);
  });
});
