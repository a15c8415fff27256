import { type Socket, connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { errorOfKind } from "@berth/api";
import { type Bundle, type ShimPlatform, shimBinaryName } from "@berth/runtime";
import { TtrpcClient, socketPathOf } from "@berth/ttrpc";

/** `\\.\pipe\<name>`: where a named pipe is dialed on Windows. */
export const windowsPipePath = (name: string): string => `\\\\.\\pipe\\${name}`;

/** The pipe a Windows shim serves its log on (containerd's `containerd-shim-<ns>-<id>-log`). */
export const shimLogPipeName = (namespace: string, id: string): string => `containerd-shim-${namespace}-${id}-log`;

export interface WindowsShimPlatformOptions {
  /** Where a pipe name is dialed: `windowsPipePath` on Windows; a unix socket when tests map pipes onto Linux. */
  readonly pipePath?: (name: string) => string;
  /** Added to the shim's environment (tests tell Berth's shim where its log pipe is mapped). */
  readonly env?: (bundle: Bundle) => Readonly<Record<string, string>>;
  /** Unmounts a bundle's rootfs; default nothing (Windows layers are unmounted through LayerOps). */
  readonly unmountRootfs?: (rootfs: string) => Promise<void>;
  /** Dialing a shim just started retries a missing pipe this often, this long: containerd's 10 ms and 5 s. */
  readonly retryIntervalMs?: number;
  readonly retryTimeoutMs?: number;
  /** How long the daemon tries to reach a shim's log pipe: containerd's 10 s. */
  readonly logTimeoutMs?: number;
}

const notThere = (error: unknown) => ["ENOENT", "ECONNREFUSED"].includes((error as NodeJS.ErrnoException).code ?? "");

function dialOnce(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/**
 * containerd's Windows half of runtime v2, for Microsoft's `containerd-shim-runhcs-v1.exe` (or any
 * shim that behaves as it does): `containerd-shim-<name>-<version>.exe`; `delete` run outside the
 * bundle; the log reversed (the shim serves a pipe, the daemon dials it, retrying for 10 s, and a
 * missing one is no error: a shim shared by several containers serves only the first one's);
 * dialing a shim just started retries "not found" every 10 ms for up to 5 s, reconnecting after a
 * restart does not; nothing to remove for a dead shim's pipe.
 */
export function windowsShimPlatform(options: WindowsShimPlatformOptions = {}): ShimPlatform {
  const pipePath = options.pipePath ?? windowsPipePath;
  const retryIntervalMs = options.retryIntervalMs ?? 10;
  const retryTimeoutMs = options.retryTimeoutMs ?? 5_000;
  const logTimeoutMs = options.logTimeoutMs ?? 10_000;
  return {
    name: "windows",
    binaryName: (runtime) => `${shimBinaryName(runtime)}.exe`,
    deleteDirectory: () => process.cwd(),
    ...(options.env === undefined ? {} : { env: options.env }),
    followLog(bundle, onLine) {
      const path = pipePath(shimLogPipeName(bundle.namespace, bundle.id));
      const stop = new AbortController();
      let connection: Socket | undefined;
      void (async () => {
        const deadline = Date.now() + logTimeoutMs;
        while (!stop.signal.aborted && Date.now() < deadline) {
          try {
            connection = await dialOnce(path);
            break;
          } catch (error) {
            if (!notThere(error)) return;
            await sleep(retryIntervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
          }
        }
        if (connection === undefined) return;
        if (stop.signal.aborted) return void connection.destroy();
        let partial = "";
        connection.on("data", (chunk: Buffer) => {
          const lines = (partial + chunk.toString("utf8")).split("\n");
          partial = lines.pop() ?? "";
          for (const line of lines) if (line.trim() !== "") onLine(line);
        });
        connection.on("error", () => undefined);
      })();
      return () => {
        stop.abort();
        connection?.destroy();
      };
    },
    async dial(address, timeoutMs, when) {
      if (when === "reconnect") return TtrpcClient.connect(address, timeoutMs);
      const deadline = Date.now() + Math.min(timeoutMs, retryTimeoutMs);
      for (;;) {
        try {
          return new TtrpcClient(await dialOnce(socketPathOf(address)));
        } catch (error) {
          if (!notThere(error)) throw errorOfKind("Unavailable", `ttrpc: dial ${address}: ${(error as Error).message}`, { cause: error });
          if (Date.now() >= deadline) throw errorOfKind("Unavailable", `ttrpc: dial ${address}: pipe not found before timeout`, { cause: error });
          await sleep(retryIntervalMs);
        }
      }
    },
    removeSocket: async () => undefined,
    unmountRootfs: options.unmountRootfs ?? (async () => undefined),
  };
}
