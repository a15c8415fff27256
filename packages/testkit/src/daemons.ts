import type { ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type LoggedProcess, spawnLogged, stopProcess } from "./processes.js";

/** A daemon started for a test, on its own root, state directory and socket. */
export interface RunningDaemon {
  readonly kind: "berthd" | "containerd";
  readonly address: string;
  readonly root: string;
  readonly state: string;
  readonly process: ChildProcess;
  /** Everything the daemon wrote to stdout and stderr so far. */
  logs(): string;
  /** SIGKILL, leaving its directories for a restart. */
  kill(): Promise<void>;
  /** SIGTERM and wait; returns its exit code. Directories stay until `cleanup`. */
  stop(): Promise<number | null>;
  /** Stops it if running and removes its directories. */
  cleanup(): Promise<void>;
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function waitForSocket(path: string, child: ChildProcess, logs: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`daemon exited before serving:\n${logs()}`);
    if (await socketAnswers(path)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`daemon did not serve ${path} within ${timeoutMs} ms:\n${logs()}`);
}

function track(kind: RunningDaemon["kind"], { child, logs }: LoggedProcess, base: string, root: string, state: string, address: string): RunningDaemon {
  const daemon: RunningDaemon = {
    kind,
    address,
    root,
    state,
    process: child,
    logs,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
    },
    async stop() {
      return (await stopProcess(child)).code;
    },
    async cleanup() {
      await stopProcess(child);
      logs(); // kept for a failing test's message after the directory goes
      rmSync(base, { recursive: true, force: true });
    },
  };
  return daemon;
}

/** Tracks a started daemon until its socket answers; one that never serves is cleaned up. */
async function launch(kind: RunningDaemon["kind"], logged: LoggedProcess, base: string, root: string, state: string, address: string): Promise<RunningDaemon> {
  const daemon = track(kind, logged, base, root, state, address);
  try {
    await waitForSocket(address, logged.child, daemon.logs);
  } catch (error) {
    await daemon.cleanup();
    throw error;
  }
  return daemon;
}

/** A log file of its own for each start of a daemon in `base` (a restart reuses the directory). */
let launches = 0;
const logFileIn = (base: string, kind: RunningDaemon["kind"]) => join(base, `${kind}-${process.pid}-${++launches}.log`);

/** A fresh directory under the system's temp dir, named for Berth tests so that leftovers are easy to spot. */
export function testDirectory(label: string): string {
  return mkdtempSync(join(tmpdir(), `berth-test-${label}-`));
}

const berthdMain = fileURLToPath(new URL("main.js", import.meta.resolve("@berth/daemon")));

export interface BerthdOptions {
  /** Reuse the directories of an earlier daemon (a restart). */
  readonly reuse?: Pick<RunningDaemon, "root" | "state" | "address">;
  readonly config?: string;
  readonly logLevel?: string;
}

/** Starts the built `berthd` as a separate process and waits until its socket answers. */
export async function startBerthd(options: BerthdOptions = {}): Promise<RunningDaemon> {
  const base = options.reuse ? join(options.reuse.root, "..") : testDirectory("berthd");
  const root = options.reuse?.root ?? join(base, "root");
  const state = options.reuse?.state ?? join(base, "state");
  const address = options.reuse?.address ?? join(base, "berthd.sock");
  const args = [berthdMain, "--root", root, "--state", state, "--address", address, "--log-level", options.logLevel ?? "debug"];
  if (options.config !== undefined) {
    const configPath = join(base, "config.toml");
    writeFileSync(configPath, options.config);
    args.push("--config", configPath);
  } else {
    args.push("--config", join(base, "no-config.toml"));
  }
  return launch("berthd", spawnLogged(process.execPath, args, logFileIn(base, "berthd")), base, root, state, address);
}

/**
 * Where an installed command lives, looking past node_modules/.bin: under `npm test` that comes
 * first on PATH and holds Berth's own `ctr`.
 */
function installed(command: string): string | undefined {
  for (const directory of (process.env.PATH ?? "").split(":")) {
    if (directory === "" || directory.includes("node_modules")) continue;
    const candidate = join(directory, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Debian's stock ctr (containerd 1.6), if installed. */
export const stockCtr: string | undefined = installed("ctr");
const stockContainerd = installed("containerd");

/** Whether Debian's containerd and its ctr are installed, to compare against. */
export const stockContainerdInstalled: boolean = stockCtr !== undefined && stockContainerd !== undefined;

export interface StockContainerdOptions {
  /** `[metrics] address` ("127.0.0.1:<port>"), with `grpc_histogram` as given. */
  readonly metrics?: { readonly address: string; readonly grpcHistogram?: boolean };
  /** Start again on the directories of an earlier one (after `kill`), as a daemon restart would. */
  readonly reuse?: Pick<RunningDaemon, "root">;
  /** `[debug] address`: the unix socket of Go's pprof endpoints. */
  readonly debugAddress?: string;
  /** More TOML, appended to the generated config (e.g. `[proxy_plugins]`). */
  readonly extraConfig?: string;
}

/**
 * Starts Debian's stock containerd on its own root, state and socket (never /run/containerd),
 * with the CRI plugin off. Resolves to undefined when it is not installed.
 */
export async function startStockContainerd(options: StockContainerdOptions = {}): Promise<RunningDaemon | undefined> {
  if (!stockContainerdInstalled) return undefined;
  const base = options.reuse ? join(options.reuse.root, "..") : testDirectory("containerd");
  const root = join(base, "root");
  const state = join(base, "state");
  const address = join(base, "containerd.sock");
  const config = join(base, "config.toml");
  writeFileSync(
    config,
    [
      "version = 2",
      `root = ${JSON.stringify(root)}`,
      `state = ${JSON.stringify(state)}`,
      `disabled_plugins = ["io.containerd.grpc.v1.cri"]`,
      "[grpc]",
      `  address = ${JSON.stringify(address)}`,
      "[ttrpc]",
      `  address = ${JSON.stringify(`${address}.ttrpc`)}`,
      `[plugins."io.containerd.internal.v1.opt"]`,
      `  path = ${JSON.stringify(join(base, "opt"))}`,
      ...(options.debugAddress === undefined ? [] : ["[debug]", `  address = ${JSON.stringify(options.debugAddress)}`]),
      ...(options.metrics === undefined
        ? []
        : ["[metrics]", `  address = ${JSON.stringify(options.metrics.address)}`, `  grpc_histogram = ${options.metrics.grpcHistogram ?? false}`]),
      ...(options.extraConfig === undefined ? [] : [options.extraConfig]),
      "",
    ].join("\n"),
  );
  return launch("containerd", spawnLogged(stockContainerd!, ["--config", config], logFileIn(base, "containerd")), base, root, state, address);
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (for daemons that cannot report theirs). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
