import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, closeSync, constants, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { dirname, join } from "node:path";
import { errorOfKind, invalidArgument } from "@berth/api";
import { SyscallError, closeFd, listenUnix } from "../shim/libc.js";
import type { Bundle, RuntimeLogger } from "@berth/runtime";
import { followShimLog, makeFifo } from "../v2/fifo.js";

/** How a runtime v1 shim is started: containerd's `shim.Config` plus the daemon's own flags. */
export interface ShimLaunch {
  /** The `containerd-shim` binary. */
  readonly binary: string;
  /** The daemon's gRPC socket (`-address`), where `<containerd-binary> publish` sends events. */
  readonly daemonAddress: string;
  /** The daemon's executable (`-containerd-binary`), run as `<it> --address … publish …`. */
  readonly containerdBinary: string;
  /** runc's `--root` parent (`-runtime-root`); the shim adds the namespace. */
  readonly runtimeRoot: string;
  readonly systemdCgroup?: boolean;
  readonly debug?: boolean;
}

/** What fits sockaddr_un. (containerd counts `unix://` in; its sockets' directory is short.) */
const socketPathLimit = 106;

/**
 * The shim's socket address: `unix://<socket directory>/<sha256 of "<daemon address>/<ns>/<id>">`,
 * as containerd 1.6 names it under `/run/containerd/s`.
 */
export function shimAddress(socketDirectory: string, daemonAddress: string, namespace: string, id: string): string {
  const digest = createHash("sha256")
    .update(join(daemonAddress, namespace, id))
    .digest("hex");
  return `unix://${join(socketDirectory, digest)}`;
}

export const socketPathOfAddress = (address: string) => address.replace(/^unix:\/\//, "");

/** The shim's stdout and stderr: FIFOs in the work directory, which the daemon keeps reading. */
export const shimLogNames = ["shim.stdout.log", "shim.stderr.log"] as const;

/** Opens the shim's log FIFOs for reading (creating them) and passes their lines to the logger. */
export function followShimLogs(bundle: Bundle, logger: RuntimeLogger | undefined, debug: boolean): () => void {
  const stops = shimLogNames.map((name) => {
    const path = join(bundle.workDir, name);
    makeFifo(path);
    return followShimLog(path, (line) => {
      if (debug) logger?.debug({ namespace: bundle.namespace, id: bundle.id, shim: line }, "shim log");
    });
  });
  return () => stops.forEach((stop) => stop());
}

/** Writes `name` in the bundle through a hidden file and a rename, as containerd does. */
async function writeAtomically(bundle: Bundle, name: string, content: string): Promise<void> {
  const hidden = join(bundle.path, `.${name}`);
  await writeFile(hidden, content, { mode: 0o666, flag: "wx" });
  await rename(hidden, join(bundle.path, name));
}

/** A listening socket at the address's path; a leftover socket file of a dead shim is replaced. */
function listen(address: string): number {
  const path = socketPathOfAddress(address);
  if (Buffer.byteLength(path) > socketPathLimit) throw invalidArgument(`${JSON.stringify(address)}: unix socket path too long (> ${socketPathLimit})`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = listenUnix(path);
  } catch (error) {
    if (!(error instanceof SyscallError && error.errno === osConstants.errno.EADDRINUSE)) throw error;
    unlinkSync(path);
    fd = listenUnix(path);
  }
  chmodSync(path, 0o600);
  return fd;
}

/** The OOM score containerd gives a shim: its own plus one (the shim goes before the daemon). */
function adjustOomScore(pid: number): void {
  const own = Number(readFileSync("/proc/self/oom_score_adj", "utf8").trim());
  writeFileSync(`/proc/${pid}/oom_score_adj`, String(Math.min(own + 1, 1000)));
}

export interface StartedShim {
  readonly child: ChildProcess;
  readonly pid: number;
}

/**
 * Starts `containerd-shim` for a bundle as containerd 1.6's `client.WithStart` does: the daemon
 * listens on the shim's socket itself and passes it as fd 3; the shim runs in the bundle, in its own
 * process group, with its stdout and stderr on the log FIFOs; `address` and `shim.pid` are written
 * into the bundle. Resolves once the shim runs (the socket already accepts connections).
 */
export async function launchShim(launch: ShimLaunch, bundle: Bundle, address: string): Promise<StartedShim> {
  const args = ["-namespace", bundle.namespace, "-workdir", bundle.workDir, "-address", launch.daemonAddress, "-containerd-binary", launch.containerdBinary];
  args.push("-runtime-root", launch.runtimeRoot);
  if (launch.systemdCgroup) args.push("-systemd-cgroup");
  if (launch.debug) args.push("-debug");
  const socket = listen(address);
  const logs: number[] = [];
  let child: ChildProcess;
  try {
    // The log FIFOs have a reader (followShimLogs) before they are opened for writing, so no open blocks.
    for (const name of shimLogNames) logs.push(openSync(join(bundle.workDir, name), constants.O_WRONLY));
    child = spawn(launch.binary, args, {
      cwd: bundle.path,
      env: { ...process.env, GOMAXPROCS: "2" },
      detached: true,
      stdio: ["ignore", logs[0]!, logs[1]!, socket],
    });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (error) => reject(errorOfKind("Unavailable", `failed to start shim: ${error.message}`, { cause: error })));
    });
  } catch (error) {
    unlinkSync(socketPathOfAddress(address));
    throw error;
  } finally {
    closeFd(socket);
    for (const fd of logs) closeSync(fd);
  }
  // The daemon may go first; the shim must outlive it.
  child.unref();
  const pid = child.pid!;
  try {
    await writeAtomically(bundle, "address", address);
    await writeAtomically(bundle, "shim.pid", String(pid));
    adjustOomScore(pid);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return { child, pid };
}
