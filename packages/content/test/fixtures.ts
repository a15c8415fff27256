import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";

/** A fresh temp root per test, removed afterwards whether the test passed or not. */
export function useTempRoot(): () => string {
  let root: string | undefined;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "berth-test-content-"));
  });
  afterEach(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });
  return () => {
    if (root === undefined) throw new Error("no temp root");
    return root;
  };
}

/** Children spawned by a test, SIGKILLed and reaped afterwards if the test left any running. */
export function useChildren(): (child: ChildProcess) => ChildProcess {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
    }
  });
  return (child) => {
    children.push(child);
    return child;
  };
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function randomData(size: number): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

export async function kindOfFailure(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
    return "none";
  } catch (error) {
    const kind = (error as { kind?: unknown } | null)?.kind;
    return typeof kind === "string" ? kind : `not a BerthError: ${String(error)}`;
  }
}

/** A node process that just waits; its pid names a live process that is not us. */
export function spawnIdle(): ChildProcess {
  return spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
}

export function exited(child: ChildProcess): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", resolve));
}

/** Resolves when the child prints `line`; rejects if it exits first or takes longer than `ms`. */
export function waitForLine(child: ChildProcess, line: string, ms = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    let errors = "";
    const timer = setTimeout(() => reject(new Error(`no ${JSON.stringify(line)} after ${ms} ms; stderr: ${errors}`)), ms);
    child.stderr?.on("data", (chunk: Buffer) => (errors += chunk.toString()));
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.split("\n").includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code ?? signal}) before ${JSON.stringify(line)}; stderr: ${errors}`));
    });
  });
}
