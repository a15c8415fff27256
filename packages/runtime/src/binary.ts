import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { type Any, errorOfKind, invalidArgument, notFound, notImplemented } from "@berth/api";
import type { ShimPlatform } from "./platform.js";
import { google_protobuf_any, taskV2 } from "@berth/api/proto";

/** `io.containerd.runc.v2` → `containerd-shim-runc-v2`: the last two dot-separated parts name the binary. */
export function shimBinaryName(runtime: string): string {
  const parts = runtime.split(".");
  if (parts.length < 2 || parts.some((part) => part === "" || part.includes("/"))) {
    throw invalidArgument(`runtime: ${JSON.stringify(runtime)} is not of the form io.containerd.<name>.<version>`);
  }
  return `containerd-shim-${parts.at(-2)}-${parts.at(-1)}`;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `name` on $PATH, then beside the daemon's executable. */
export function lookup(name: string, daemonExecutable: string): string | undefined {
  const directories = [...(process.env.PATH ?? "").split(delimiter).filter((d) => d !== ""), dirname(daemonExecutable)];
  return directories.map((directory) => join(directory, name)).find(executable);
}

/**
 * The shim binary for a runtime: the configured binary for its name (a path, or a name looked up
 * like the rest), an absolute path as given, else `containerd-shim-<name>-<version>` on $PATH,
 * then beside the daemon's executable. NotFound when there is none.
 */
export function resolveShimBinary(
  runtime: string,
  configured: Readonly<Record<string, string>> = {},
  daemonExecutable = process.argv[1] ?? process.execPath,
  binaryName: (runtime: string) => string = shimBinaryName,
): string {
  const override = configured[runtime];
  const wanted = override ?? (isAbsolute(runtime) ? runtime : binaryName(runtime));
  const found = isAbsolute(wanted) ? (executable(wanted) ? wanted : undefined) : lookup(wanted, daemonExecutable);
  if (found === undefined) throw notFound(`runtime ${JSON.stringify(runtime)} binary not installed ${JSON.stringify(wanted)}`);
  return found;
}

/** What every shim command is told: who it serves and where the daemon is. */
export interface ShimInvocation {
  readonly binary: string;
  readonly namespace: string;
  readonly id: string;
  readonly bundle: string;
  /** The daemon's gRPC socket (`-address`). */
  readonly address: string;
  /** The daemon's ttrpc socket for events (`TTRPC_ADDRESS`). */
  readonly ttrpcAddress: string;
  /** The daemon's executable, for shims that publish events through `<it> publish`. */
  readonly publishBinary: string;
  readonly debug?: boolean;
  /** Where `delete` runs: the bundle unless the platform says otherwise (Windows cannot remove a running exe's cwd). */
  readonly deleteDirectory?: string;
  /** Added to the daemon's environment for every shim command. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * A directory of the daemon's where a shim it starts itself may keep what it can always rebuild
   * (Berth's shim: Node's compile cache), so that nothing of it lands in the temp dir.
   */
  readonly cacheDirectory?: string;
}

interface CommandOutput {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

function runShim(invocation: ShimInvocation, extra: readonly string[], input: Uint8Array, timeoutMs: number): Promise<CommandOutput> {
  const args = ["-namespace", invocation.namespace, "-address", invocation.address, "-publish-binary", invocation.publishBinary, "-id", invocation.id];
  if (invocation.debug) args.push("-debug");
  args.push(...extra);
  return new Promise((resolve, reject) => {
    // Its own process group, as containerd does, so that signals meant for the daemon never reach it.
    const child = spawn(invocation.binary, args, {
      cwd: extra.includes("delete") ? (invocation.deleteDirectory ?? invocation.bundle) : invocation.bundle,
      env: { ...process.env, TTRPC_ADDRESS: invocation.ttrpcAddress, GOMAXPROCS: "2", ...invocation.env },
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(errorOfKind("Unavailable", `${invocation.binary}: ${error.message}`, { cause: error }));
    });
    const stdoutEnded = new Promise<void>((done) => child.stdout.once("close", done));
    // The output is read to its end, but a long-running shim that kept the pipe must not hold
    // this call open for long after the command itself exited.
    child.once("exit", (code) => {
      clearTimeout(timer);
      void Promise.race([stdoutEnded, new Promise((done) => setTimeout(done, 1000))]).then(() => resolve({ code, stdout: Buffer.concat(stdout), stderr }));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(Buffer.from(input));
  });
}

/**
 * Runs `<shim> … start` in the bundle with the runtime options on stdin, and returns the ttrpc
 * address it prints: a plain address (1.6) or `{"version":2,"address":…,"protocol":"ttrpc"}` (1.7).
 */
export async function startShim(
  invocation: ShimInvocation,
  options: Any | undefined,
  timeoutMs = 30_000,
  startInDaemon?: ShimPlatform["startInDaemon"],
): Promise<string> {
  const input = options === undefined ? new Uint8Array() : google_protobuf_any.Any.encode(options).finish();
  if (startInDaemon !== undefined) {
    let address: string | undefined;
    try {
      address = await startInDaemon(invocation, input);
    } catch (error) {
      throw errorOfKind("Unknown", `start failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (address !== undefined) return address;
  }
  const output = await runShim(invocation, ["start"], input, timeoutMs);
  const printed = output.stdout.toString("utf8").trim();
  if (output.code !== 0) throw errorOfKind("Unknown", `start failed: ${output.stderr.trim() || `${invocation.binary} exited with ${output.code}`}`);
  if (!printed.startsWith("{")) {
    if (printed === "") throw errorOfKind("Unknown", `start failed: ${invocation.binary} printed no address`);
    return printed;
  }
  let bootstrap: { version?: number; address?: string; protocol?: string };
  try {
    bootstrap = JSON.parse(printed) as typeof bootstrap;
  } catch {
    throw errorOfKind("Unknown", `start failed: unreadable shim bootstrap ${JSON.stringify(printed)}`);
  }
  if ((bootstrap.version ?? 0) > 2) throw notImplemented(`unsupported shim bootstrap version ${bootstrap.version}`);
  if (bootstrap.protocol !== undefined && bootstrap.protocol !== "ttrpc") throw notImplemented(`shim protocol ${bootstrap.protocol}`);
  if (typeof bootstrap.address !== "string" || bootstrap.address === "") throw errorOfKind("Unknown", "start failed: shim bootstrap has no address");
  return bootstrap.address;
}

/**
 * Runs `<shim> … -bundle <bundle> delete`, the cleanup of a shim that is gone: it removes what the
 * shim left (runc state, mounts) and prints how the init process ended.
 */
export async function runShimDelete(invocation: ShimInvocation, timeoutMs = 30_000): Promise<taskV2.DeleteResponse> {
  const output = await runShim(invocation, ["-bundle", invocation.bundle, "delete"], new Uint8Array(), timeoutMs);
  if (output.code !== 0) throw errorOfKind("Unknown", `shim delete failed: ${output.stderr.trim() || `exit ${output.code}`}`);
  return taskV2.DeleteResponse.decode(output.stdout);
}
