import { join } from "node:path";
import type { RunningDaemon } from "./daemons.js";
import { stockCtr } from "./daemons.js";
import { type CommandResult, runCommand } from "./processes.js";
import { reapRuntimeLeftovers, shimsOf } from "./runtime.js";

/**
 * Stock ctr against one daemon and namespace. Its `run` flags keep IO FIFOs and runc's state under
 * the daemon's own directories, so that a stock containerd touches neither /run/containerd/fifo
 * nor /run/containerd/runc.
 */
export interface CtrSession {
  /** The ctr binary. */
  readonly command: string;
  readonly address: string;
  readonly namespace: string;
  /** `--fifo-dir <dir> --runc-root <dir>`, for `ctr run` (and `--fifo-dir` for `tasks exec`). */
  readonly runFlags: readonly string[];
  readonly fifoDir: string;
  /** runc's `--root`; shims add the namespace below it. */
  readonly runcRoot: string;
  /** `--address <address> -n <namespace> ...args`: a command line for `command`. */
  args(...args: string[]): string[];
  /** Runs `command` with `args(...args)`. */
  ctr(...args: string[]): Promise<CommandResult>;
  /** `ctr tasks ls` as {container id: status}; throws when ctr fails. */
  taskStatuses(): Promise<Record<string, string>>;
  /** Force-removes every task (SIGKILL first) and then every container of the namespace; throws when ctr fails. */
  removeAll(): Promise<void>;
}

const baseOf = (daemon: Pick<RunningDaemon, "root">): string => join(daemon.root, "..");

export function ctrSession(
  daemon: Pick<RunningDaemon, "address" | "root" | "state">,
  namespace: string,
  options: { ctr?: string; timeoutMs?: number } = {},
): CtrSession {
  const ctrPath = options.ctr ?? stockCtr;
  if (ctrPath === undefined) throw new Error("stock ctr is not installed");
  const fifoDir = join(baseOf(daemon), "fifo");
  const runcRoot = join(daemon.state, "runc");
  const args = (...rest: string[]) => ["--address", daemon.address, "-n", namespace, ...rest];
  const ctr = (...rest: string[]) => runCommand(ctrPath, args(...rest), { timeoutMs: options.timeoutMs ?? 60_000 });
  const succeeded = async (...rest: string[]): Promise<string> => {
    const result = await ctr(...rest);
    if (result.code !== 0) throw new Error(`ctr ${rest.join(" ")} exited with ${result.signal ?? result.code}: ${result.stderr.trim()}`);
    return result.stdout;
  };
  const lines = (text: string) => text.split("\n").filter((line) => line.trim() !== "");
  const taskRows = async () =>
    lines(await succeeded("tasks", "ls"))
      .slice(1)
      .map((line) => line.split(/\s+/));
  return {
    command: ctrPath,
    address: daemon.address,
    namespace,
    runFlags: ["--fifo-dir", fifoDir, "--runc-root", runcRoot],
    fifoDir,
    runcRoot,
    args,
    ctr,
    async taskStatuses() {
      return Object.fromEntries((await taskRows()).map(([id, , status]) => [id, status]));
    },
    async removeAll() {
      const tasks = (await taskRows()).map(([id]) => id!);
      // ctr 1.6's `tasks rm -f` kills with SIGKILL, waits for the exit, then deletes.
      if (tasks.length > 0) await succeeded("tasks", "rm", "-f", ...tasks);
      const containers = lines(await succeeded("containers", "ls", "-q"));
      if (containers.length > 0) await succeeded("containers", "rm", ...containers);
    },
  };
}

/**
 * Ends a daemon that ran tasks, whatever state it is in: stops it, then removes what its tasks may
 * have left (its shims, runc containers under `<state>/runc`, rootfs mounts, the cgroups
 * `/<namespace>` of `namespaces`), then its directories.
 */
export async function disposeTaskDaemon(daemon: RunningDaemon, namespaces: readonly string[]): Promise<void> {
  await daemon.stop();
  for (const pid of shimsOf(daemon.address)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await reapRuntimeLeftovers({ directory: baseOf(daemon), runcRoots: [join(daemon.state, "runc")], cgroups: namespaces.map((namespace) => `/${namespace}`) });
  await daemon.cleanup();
}

/** Polls `probe` every 100 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
