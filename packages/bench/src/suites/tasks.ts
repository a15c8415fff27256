import type { CtrSession } from "@berth/testkit";
import { sleep, withTimeout } from "../measure.js";
import { medianWallMs } from "./cli.js";
import { type MemoryTotal, helperProcesses, memoryOf } from "./memory.js";

/**
 * Median wall time in ms of `runs` runs of stock `ctr run --rm IMAGE bench-run true` (FIFOs and
 * runc state under the daemon's directory), after one untimed run.
 */
export function ctrRunRmMs(session: CtrSession, image: string, options: { runs?: number; timeoutMs?: number } = {}): Promise<number> {
  const args = session.args("run", "--rm", ...session.runFlags, image, "bench-run", "true");
  return medianWallMs(session.command, args, options.runs ?? 10, { timeoutMs: options.timeoutMs ?? 30_000 });
}

export interface TaskMemoryOptions {
  readonly image: string;
  readonly tasks?: number;
  /** Pause before each reading, for the processes to settle. */
  readonly settleMs?: number;
  /** Bound of starting the tasks. */
  readonly timeoutMs?: number;
  /** Stops starting tasks (an interrupt). */
  readonly signal?: AbortSignal;
}

export interface TaskMemory {
  readonly tasks: number;
  /** The daemon alone, before any task. */
  readonly idle: MemoryTotal;
  /** The daemon and its helpers with every task running. */
  readonly running: MemoryTotal;
  /** The daemon's own process with every task running. */
  readonly daemonRunning: MemoryTotal;
  /** (running − idle) / tasks, in MB. */
  readonly perTaskRssMb: number;
  readonly perTaskPssMb: number;
  /** How many helpers beside the daemon run each command (which shim ran, and how many of it). */
  readonly helpers: Readonly<Record<string, number>>;
}

/**
 * Memory per running container: starts `tasks` `sleep` tasks with stock `ctr run -d` and reads the
 * daemon and everything running beside the containers (see `helperProcesses`), before and after.
 * Every task and container it made is removed before it returns, whether it succeeded or not.
 */
export async function memoryPerTask(session: CtrSession, daemonPid: number, options: TaskMemoryOptions): Promise<TaskMemory> {
  const { image, tasks = 50, settleMs = 2000, timeoutMs = 180_000, signal } = options;
  await sleep(settleMs);
  const idle = await memoryOf(helperProcesses(daemonPid, session.address).map(({ pid }) => pid));
  let stop = false;
  let started = 0;
  const start = async () => {
    for (let i = 0; i < tasks; i++) {
      if (stop || signal?.aborted) throw new Error("stopped");
      const result = await session.ctr("run", "-d", ...session.runFlags, image, `bench-sleep-${i}`, "sleep", "1000000");
      if (result.code !== 0) throw new Error(`ctr run -d bench-sleep-${i} exited with ${result.signal ?? result.code}: ${result.stderr.trim()}`);
      started++;
    }
  };
  const starting = start();
  try {
    await withTimeout(
      starting,
      timeoutMs,
      () => `starting ${tasks} tasks (${started} started)`,
      () => (stop = true),
    );
    const statuses = Object.values(await session.taskStatuses());
    const running = statuses.filter((status) => status === "RUNNING").length;
    if (running !== tasks) throw new Error(`${running} of ${tasks} tasks are RUNNING`);
    await sleep(settleMs);
    const processes = helperProcesses(daemonPid, session.address);
    const busy = await memoryOf(processes.map(({ pid }) => pid));
    const daemonRunning = await memoryOf([daemonPid]);
    const helpers: Record<string, number> = {};
    for (const { pid, command } of processes) if (pid !== daemonPid) helpers[command] = (helpers[command] ?? 0) + 1;
    return {
      tasks,
      idle,
      running: busy,
      daemonRunning,
      perTaskRssMb: (busy.rssKb - idle.rssKb) / 1024 / tasks,
      perTaskPssMb: (busy.pssKb - idle.pssKb) / 1024 / tasks,
      helpers,
    };
  } finally {
    stop = true;
    await starting.catch(() => undefined);
    // Whatever is still left goes with the daemon (disposeTaskDaemon); the measurement's own error matters more.
    await session
      .removeAll()
      .catch((error: unknown) => console.error(`bench: removing the ${tasks} tasks: ${error instanceof Error ? error.message : String(error)}`));
  }
}
