import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CallContext, type Exit, type Mount, type Runtime, type RuntimeTask, type TaskIO, packJson } from "@berth/api";
import { mountPointsUnder } from "@berth/mount";

/** What the runtime conformance suite needs from the implementation under test. */
export interface RuntimeFixture {
  readonly runtime: Runtime;
  /** The runtime name tasks are created with, e.g. `io.containerd.runc.v2`. */
  readonly runtimeName: string;
  /** A directory holding a busybox root filesystem (sh, echo, cat, sleep, ls), bind-mounted into each task. */
  readonly rootfs: string;
  /** A scratch directory for the suite's stdio files. */
  readonly scratch: string;
  /** Directories where the runtime keeps per-task state; nothing may stay there after a task is gone. */
  readonly stateDirectories: readonly string[];
  /** An OCI runtime spec for a task running `args` (root.path "rootfs", a cgroup of its own per id). */
  spec(id: string, args: readonly string[]): Record<string, unknown>;
  /** The topics (with namespaces) the runtime itself published so far, when it publishes. */
  published?(): readonly { readonly topic: string; readonly namespace: string }[];
  /**
   * A daemon restart: lets go of the current runtime without stopping its tasks (as kill -9 of the
   * daemon would) and returns a new one over the same state. Omit to skip the restart cases.
   */
  restart?(): Promise<Runtime>;
  /** Removes whatever the fixture made (tasks are already deleted by the suite). */
  cleanup(): Promise<void>;
}

export const namespace = "conformance";
export const context: CallContext = { namespace };

export const specAny = (spec: unknown) => packJson("types.containerd.io/opencontainers/runtime-spec/1/Spec", spec);
export const processAny = (process: unknown) => packJson("types.containerd.io/opencontainers/runtime-spec/1/Process", process);
export const resourcesAny = (resources: unknown) => packJson("types.containerd.io/opencontainers/runtime-spec/1/LinuxResources", resources);

export const rootfsMounts = (fixture: RuntimeFixture): Mount[] => [{ type: "bind", source: fixture.rootfs, options: ["rbind", "rw"] }];

let sequence = 0;

/** A fresh stdout file for a task (the runc shims append to existing regular files). */
export function outputFile(fixture: RuntimeFixture, label: string): string {
  const path = join(fixture.scratch, `${label}-${process.pid}-${++sequence}.out`);
  writeFileSync(path, "");
  return path;
}

export const readOutput = (path: string) => readFileSync(path, "utf8");

/** Stdio for a task; stderr goes where stdout goes (the runc shims need both or neither). */
export function io(stdout = "", stdin = ""): TaskIO {
  return { stdin, stdout, stderr: stdout, terminal: false };
}

export async function createTask(fixture: RuntimeFixture, id: string, args: readonly string[], stdio: TaskIO = io()): Promise<RuntimeTask> {
  return fixture.runtime.create(context, id, { spec: specAny(fixture.spec(id, args)), rootfs: rootfsMounts(fixture), io: stdio, runtime: fixture.runtimeName });
}

export function uniqueId(label: string): string {
  return `${label}-${process.pid}-${++sequence}`;
}

export async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Kills and deletes every task of the suite's namespace; used after each case, pass or fail. */
export async function removeAllTasks(runtime: Runtime): Promise<void> {
  for (const task of await runtime.tasks(context)) {
    await task.kill(context, 9, true).catch(() => undefined);
    await Promise.race([task.wait(context).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5000))]);
    await runtime.delete(context, task.id).catch(() => undefined);
  }
}

/** What a task left behind in the runtime's state directories: bundle directories and mounts. */
export function leftovers(fixture: RuntimeFixture, id: string): string[] {
  const found: string[] = [];
  for (const directory of fixture.stateDirectories) {
    for (const mount of mountPointsUnder(directory)) found.push(`mount ${mount}`);
    if (!existsSync(directory)) continue;
    for (const namespaceDir of readdirSync(directory)) {
      if (existsSync(join(directory, namespaceDir, id))) found.push(join(directory, namespaceDir, id));
    }
  }
  return found;
}

/** The process's exit, bounded in time; a failure is reported only to whoever awaits it (a case may fail before). */
export function exitOf(task: { wait(context: CallContext): Promise<Exit> }, timeoutMs = 20_000): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("wait timed out")), timeoutMs)));
  const exit = Promise.race([task.wait(context), timeout]).finally(() => clearTimeout(timer));
  exit.catch(() => undefined);
  return exit;
}
