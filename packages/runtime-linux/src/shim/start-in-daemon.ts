import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { shimGroup, shimSocketPath, socketAnswers } from "./address.js";
import { parseFlags } from "./flags.js";
import { shimName } from "./cli.js";
import { berthShimPath } from "./paths.js";
import { lockGroup, releaseGroup } from "./group-lock.js";
import { type SpareShims, adoptSpare } from "./spare-pool.js";
import { launchServer } from "./start.js";
import { shimCgroupOf } from "./start-options.js";

/** What the daemon would give `<shim> start`: its flags, directory (the bundle) and environment. */
export interface StartInvocation {
  readonly namespace: string;
  /** The daemon's socket (`-address`). */
  readonly address: string;
  readonly publishBinary: string;
  readonly id: string;
  readonly bundle: string;
  readonly debug?: boolean | undefined;
  readonly ttrpcAddress: string;
  /** Where the server keeps Node's compile cache (`NODE_COMPILE_CACHE`); Node's default, in the temp dir, without it. */
  readonly cacheDirectory?: string | undefined;
}

/**
 * `containerd-shim-berth-v2 start`, done by the daemon itself for its own shim: the same socket,
 * group lock, server launch (in a session of its own, outliving the daemon) and bundle `address`,
 * without a Node process started only to do it. Undefined when another `start` holds the group's
 * lock: the daemon then runs the binary, which waits for it. The server's failure reads as
 * `start`'s would. A spare of `spares`, when there is one, becomes the server.
 */
export async function startInDaemon(invocation: StartInvocation, options: Uint8Array, spares?: SpareShims): Promise<string | undefined> {
  const spec = JSON.parse(readFileSync(join(invocation.bundle, "config.json"), "utf8")) as { annotations?: Record<string, string> };
  const shimCgroup = shimCgroupOf(options);
  const socket = shimSocketPath(invocation.address, invocation.namespace, shimGroup(spec.annotations, invocation.namespace), shimCgroup);
  mkdirSync(dirname(socket), { recursive: true, mode: 0o711 });
  const lock = lockGroup(socket, false);
  if (lock === undefined) return undefined;
  try {
    if (!(await socketAnswers(socket))) {
      rmSync(socket, { force: true });
      const flags = parseFlags([
        "-namespace",
        invocation.namespace,
        "-address",
        invocation.address,
        "-publish-binary",
        invocation.publishBinary,
        "-id",
        invocation.id,
        ...(invocation.debug ? ["-debug"] : []),
        "start",
      ]);
      const launcher = { cwd: invocation.bundle, env: serverLaunchEnv(invocation), daemonPid: process.pid };
      try {
        const spare = spares?.take();
        const adopted = spare !== undefined && (await adoptSpare(spare, flags, socket, shimCgroup, launcher)) === "ready";
        if (!adopted) await launchServer(flags, berthShimPath, socket, shimCgroup, launcher);
      } catch (error) {
        throw new Error(`${shimName} start: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const address = `unix://${socket}`;
    writeFileSync(join(invocation.bundle, "address"), address);
    return address;
  } finally {
    releaseGroup(socket, lock);
  }
}

/** The environment the daemon starts Berth's shim servers with (spares too). */
export function serverLaunchEnv(invocation: Pick<StartInvocation, "ttrpcAddress" | "cacheDirectory">): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TTRPC_ADDRESS: invocation.ttrpcAddress,
    GOMAXPROCS: "2",
    ...(invocation.cacheDirectory === undefined ? {} : { NODE_COMPILE_CACHE: invocation.cacheDirectory }),
  };
}
