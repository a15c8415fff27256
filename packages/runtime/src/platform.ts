import type { TtrpcClient } from "@berth/ttrpc";
import type { ShimInvocation } from "./binary.js";
import type { Bundle } from "./bundle.js";

/**
 * What the shim v2 manager does differently on each platform (containerd's runtime/v2 `_unix.go`
 * and `_windows.go` halves). Everything else (start and delete, bundles, reconnect after a daemon
 * restart, the clean-up of a dead shim, events) is the same on both.
 */
export interface ShimPlatform {
  /** "linux" or "windows": for logs and introspection. */
  readonly name: string;
  /** The shim's file name for a runtime: `containerd-shim-<name>-<version>` (with `.exe` on Windows). */
  binaryName(runtime: string): string;
  /** Where `<shim> delete` runs (`start` always runs in the bundle). */
  deleteDirectory(bundle: string): string;
  /** Added to the daemon's environment for every shim command, if anything. */
  env?(bundle: Bundle): Readonly<Record<string, string>>;
  /**
   * Starts relaying the shim's log before `start` runs: a FIFO in the bundle the daemon reads
   * (Linux), or a pipe the shim serves and the daemon dials, with retry (Windows). Returns a
   * function that stops it.
   */
  followLog(bundle: Bundle, onLine: (line: string) => void): () => void;
  /** Dials a shim's ttrpc address: right after `start` (Windows retries while the pipe is not there yet), or when reconnecting after a daemon restart. */
  dial(address: string, timeoutMs: number, when: "start" | "reconnect"): Promise<TtrpcClient>;
  /** Removes what a dead shim's address left behind (a unix socket file; nothing for a pipe). */
  removeSocket(address: string): Promise<void>;
  /** Unmounts whatever is left on a bundle's rootfs before the bundle is removed. */
  unmountRootfs(rootfs: string): Promise<void>;
  /**
   * Does `<shim> start` in the daemon for a shim the platform knows (Berth's own), saving a
   * process: the shim's address, or undefined to run the binary as usual. `options` are the
   * encoded `Any` that `start` reads on stdin.
   */
  startInDaemon?(invocation: ShimInvocation, options: Uint8Array): Promise<string | undefined>;
  /** Lets go of what the platform keeps for the manager (Linux: its spare shims) when the manager closes. */
  close?(): void;
}
