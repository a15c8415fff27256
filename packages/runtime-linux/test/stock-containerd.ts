// A stock containerd on its own root with a pulled busybox image, driven by stock ctr, for tests
// of Berth's shim as containerd itself runs it; and the cleanup that leaves nothing behind.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { unmountUnder } from "@berth/mount";
import {
  type CommandResult,
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  pushTestImage,
  removeTestCgroups,
  runCommand,
  startRegistry,
  startStockContainerd,
  stockCtr,
} from "@berth/testkit";

export interface StockSetup {
  containerd: RunningDaemon;
  readonly registry: RunningRegistry;
  readonly image: string;
  readonly namespace: string;
  /** The directory of the daemon's files (root, state, sockets, our shims' sockets under s/). */
  readonly base: string;
  ctr(args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** Kills whatever is left (tasks, shims, containers), unmounts, removes cgroups and directories. */
  cleanup(): Promise<void>;
}

export async function startStockSetup(namespace: string): Promise<StockSetup> {
  const registry = await startRegistry();
  let containerd: RunningDaemon | undefined;
  try {
    containerd = (await startStockContainerd())!;
    const image = `${registry.host}/library/busybox:latest`;
    await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
    const setup: StockSetup = {
      containerd,
      registry,
      image,
      namespace,
      base: join(containerd.root, ".."),
      ctr: (args, options = {}) =>
        runCommand(stockCtr!, ["--address", setup.containerd.address, "--namespace", namespace, ...args], { timeoutMs: 60_000, ...options }),
      cleanup: () => cleanupStock(setup),
    };
    const pulled = await setup.ctr(["images", "pull", "--plain-http", image]);
    if (pulled.code !== 0) throw new Error(`pull failed: ${pulled.stderr}`);
    return setup;
  } catch (error) {
    await containerd?.cleanup();
    await registry.stop();
    throw error;
  }
}

/** Pids of Berth shim processes serving a daemon whose files are under `base`. */
export function shimProcesses(base: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
    } catch {
      continue;
    }
    // The server's command line: `… containerd-shim-berth-v2.js -namespace … -socket <base>/s/… serve`.
    if (cmdline.includes("containerd-shim-berth-v2") && cmdline.includes(`-socket\0${base}`)) pids.push(Number(entry));
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

async function cleanupStock(setup: StockSetup): Promise<void> {
  const { base, namespace } = setup;
  if (setup.containerd.process.exitCode === null && setup.containerd.process.signalCode === null) {
    const tasks = await setup.ctr(["tasks", "ls", "-q"]).catch(() => undefined);
    for (const id of tasks?.stdout.split("\n").filter(Boolean) ?? []) {
      await setup.ctr(["tasks", "kill", "-a", "-s", "SIGKILL", id]).catch(() => undefined);
      await setup.ctr(["tasks", "rm", "-f", id]).catch(() => undefined);
    }
    const containers = await setup.ctr(["containers", "ls", "-q"]).catch(() => undefined);
    for (const id of containers?.stdout.split("\n").filter(Boolean) ?? []) await setup.ctr(["containers", "rm", id]).catch(() => undefined);
  }
  await setup.containerd.kill();
  for (const pid of shimProcesses(base)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  await waitFor(() => shimProcesses(base).length === 0);
  const runcRoot = join(base, "runc", namespace);
  const listed = await runCommand("runc", ["--root", runcRoot, "list", "-q"]).catch(() => undefined);
  for (const id of listed?.stdout.split("\n").filter(Boolean) ?? []) await runCommand("runc", ["--root", runcRoot, "delete", "--force", id]);
  await unmountUnder(base, { detach: true });
  removeTestCgroups(`/${namespace}`);
  await setup.containerd.cleanup();
  await setup.registry.stop();
}
