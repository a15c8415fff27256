// A daemon (a stock containerd, or berthd) on its own root with a pulled busybox image, driven by
// stock ctr, for tests of Berth's shim as each daemon runs it; and the cleanup that leaves nothing.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  type CommandResult,
  type CtrSession,
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  ctrSession,
  disposeTaskDaemon,
  isShimOf,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  startStockContainerd,
} from "@berth/testkit";

export type DaemonKind = "containerd" | "berthd";

export interface DaemonSetup {
  readonly kind: DaemonKind;
  daemon: RunningDaemon;
  session: CtrSession;
  readonly registry: RunningRegistry;
  readonly image: string;
  readonly namespace: string;
  /** The directory of the daemon's files (root, state, sockets, Berth's shim sockets under s/). */
  readonly base: string;
  ctr(args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** Kills the daemon with -9 and starts it again on the same directories. */
  restart(): Promise<void>;
  /** Stops the daemon and removes whatever is left: shims, runc containers, mounts, cgroups, directories. */
  cleanup(): Promise<void>;
}

async function startDaemon(kind: DaemonKind, reuse?: RunningDaemon): Promise<RunningDaemon> {
  if (kind === "berthd") return startBerthd(reuse === undefined ? {} : { reuse });
  const daemon = await startStockContainerd(reuse === undefined ? {} : { reuse });
  if (daemon === undefined) throw new Error("stock containerd is not installed");
  return daemon;
}

export async function startDaemonSetup(kind: DaemonKind, namespace: string): Promise<DaemonSetup> {
  const registry = await startRegistry();
  let daemon: RunningDaemon | undefined;
  try {
    daemon = await startDaemon(kind);
    const image = `${registry.host}/library/busybox:latest`;
    await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
    const setup: DaemonSetup = {
      kind,
      daemon,
      session: ctrSession(daemon, namespace),
      registry,
      image,
      namespace,
      base: join(daemon.root, ".."),
      ctr: (args, options = {}) => runCommand(setup.session.command, setup.session.args(...args), { timeoutMs: 30_000, ...options }),
      async restart() {
        await setup.daemon.kill();
        setup.daemon = await startDaemon(kind, setup.daemon);
        setup.session = ctrSession(setup.daemon, namespace);
      },
      async cleanup() {
        await setup.session.removeAll().catch(() => undefined);
        await disposeTaskDaemon(setup.daemon, [namespace]);
        await registry.stop();
      },
    };
    const pulled = await setup.ctr(["images", "pull", "--plain-http", image]);
    if (pulled.code !== 0) throw new Error(`pull failed: ${pulled.stderr}`);
    return setup;
  } catch (error) {
    if (daemon !== undefined) await disposeTaskDaemon(daemon, [namespace]);
    await registry.stop();
    throw error;
  }
}

/**
 * Pids of the Berth shim servers of the daemon at `address` (`… -address <address> … serve`), not
 * the short-lived `start` and `delete` commands.
 */
export function shimServers(address: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8")
        .split("\0")
        .filter((arg) => arg !== "");
      if (args.at(-1) === "serve" && isShimOf(args, address)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Resident set size of a process in bytes (VmRSS). */
export function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match === null ? 0 : Number(match[1]) * 1024;
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}
