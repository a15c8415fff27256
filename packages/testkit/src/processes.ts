import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<ChildProcess>();

// Whatever happens to the test run, no daemon it started outlives it.
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** Starts a long-running process that is killed when this process exits, if not before. */
export function spawnTracked(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  options: { stdin?: "pipe" | "ignore" } = {},
): ChildProcess {
  const child = spawn(command, args, { env, stdio: [options.stdin ?? "ignore", "pipe", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** A long-running process whose stdout and stderr go to a file. */
export interface LoggedProcess {
  readonly child: ChildProcess;
  /** Everything it wrote so far (what it had written when its file went, once the file is removed). */
  logs(): string;
}

/**
 * `spawnTracked` with stdout and stderr appended to `logFile` instead of piped to this process. A
 * daemon writing its log to a pipe stops serving once the pipe is full, and a test blocked in
 * `spawnSync` on a client of that daemon never reads the pipe: both wait for ever. A file never fills.
 */
export function spawnLogged(command: string, args: readonly string[], logFile: string, env: NodeJS.ProcessEnv = process.env): LoggedProcess {
  const output = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(command, args, { env, stdio: ["ignore", output, output] });
  } finally {
    closeSync(output);
  }
  children.add(child);
  child.once("exit", () => children.delete(child));
  let last = "";
  const logs = () => {
    try {
      last = readFileSync(logFile, "utf8");
    } catch {
      // removed with its directory: what was read last
    }
    return last;
  };
  return { child, logs };
}

/** Runs a command to completion and collects its output; it is killed after `timeoutMs`. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string | Uint8Array; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
    // A command that exits without reading its input makes this write fail with EPIPE.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves with how the process ended. */
export function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
    child.kill("SIGTERM");
  });
}
