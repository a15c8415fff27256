import { join } from "node:path";
import { type ShimPlatform, removeDeadSocket, shimBinaryName, shimCacheDirectory } from "@berth/runtime";
import { unmountAll } from "@berth/mount";
import { TtrpcClient } from "@berth/ttrpc";
import { berthShimPath } from "../shim/paths.js";
import { SpareShims } from "../shim/spare-pool.js";
import { serverLaunchEnv, startInDaemon } from "../shim/start-in-daemon.js";
import { followShimLog, makeFifo } from "./fifo.js";

/**
 * containerd's Linux half of runtime v2: `containerd-shim-<name>-<version>` on $PATH, start and
 * delete in the bundle, the shim's log a FIFO (`<bundle>/log`) the daemon reads, unix sockets
 * (a dead shim's socket file removed), and a leftover rootfs mount detached.
 */
export const linuxShimPlatform: ShimPlatform = {
  name: "linux",
  binaryName: shimBinaryName,
  deleteDirectory: (bundle) => bundle,
  followLog(bundle, onLine) {
    makeFifo(join(bundle.path, "log"));
    return followShimLog(join(bundle.path, "log"), onLine);
  },
  dial: (address, timeoutMs) => TtrpcClient.connect(address, timeoutMs),
  removeSocket: removeDeadSocket,
  unmountRootfs: (rootfs) => unmountAll(rootfs, { detach: true }),
  // Berth's own shim: `start`'s work done in the daemon, saving a Node process per task.
  startInDaemon: async (invocation, options) => (invocation.binary === berthShimPath ? startInDaemon(invocation, options) : undefined),
};

/** Where a manager's shims reach it, and how many spares of Berth's shim it keeps (at least 1). */
export interface SpareShimsOf {
  readonly count: number;
  /** The manager's `address`, `ttrpcAddress` and `root` (under which the shims keep their compile cache). */
  readonly address: string;
  readonly ttrpcAddress: string;
  readonly root: string;
}

/**
 * Linux's platform with `count` of Berth's shim servers kept started ahead of need (see
 * SpareShims), which the next group's server becomes; the manager's close ends them. One per manager.
 */
export function linuxShimPlatformWithSpares({ count, address, ttrpcAddress, root }: SpareShimsOf): ShimPlatform {
  const spares = new SpareShims({ count, address, env: serverLaunchEnv({ ttrpcAddress, cacheDirectory: shimCacheDirectory(root) }) });
  return {
    ...linuxShimPlatform,
    startInDaemon: async (invocation, options) => (invocation.binary === berthShimPath ? startInDaemon(invocation, options, spares) : undefined),
    close: () => spares.close(),
  };
}
