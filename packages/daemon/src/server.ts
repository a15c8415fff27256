import { chmod, chown, lstat, mkdir, rename, unlink } from "node:fs/promises";
import { connect } from "node:net";
import { dirname } from "node:path";
import { type CallObserver, grpc, grpcImplementation, grpcServiceDefinition } from "@berth/api/services";
import { isNamedPipe } from "@berth/ttrpc";
import type { GrpcService } from "./plugins/types.js";
import { listenAcceptingPathAuthorities } from "./authority.js";

export interface GrpcServerOptions {
  readonly address: string;
  readonly uid: number;
  readonly gid: number;
  readonly maxReceiveMessageSize: number;
  readonly maxSendMessageSize: number;
  readonly observer?: CallObserver;
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

/** Clears a stale socket left by a daemon that died, but never one a live daemon still serves. */
export async function claimSocketPath(path: string, what = "grpc.address"): Promise<void> {
  // A Windows named pipe leaves no file behind; a second listener on it fails by itself.
  if (isNamedPipe(path)) return;
  await mkdir(dirname(path), { recursive: true, mode: 0o711 });
  const existing = await lstat(path).catch(() => undefined);
  if (existing === undefined) return;
  if (!existing.isSocket()) throw new Error(`${what}: ${path} exists and is not a socket`);
  if (await socketAnswers(path)) throw new Error(`${what}: ${path} is in use by another daemon`);
  await unlink(path);
}

export interface RunningServer {
  close(graceMs?: number): Promise<void>;
}

/** Serves `services` on a unix socket that only root (and the configured group) may use: mode 0660. */
export async function serveGrpc(services: readonly GrpcService[], options: GrpcServerOptions): Promise<RunningServer> {
  await claimSocketPath(options.address);
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxReceiveMessageSize,
    "grpc.max_send_message_length": options.maxSendMessageSize,
    // channelz (on by default in grpc-js) counts and timestamps every call and message for a
    // channelz service berthd does not serve, as containerd does not: pure per-call cost.
    "grpc.enable_channelz": 0,
  });
  // Node's guard against HTTP/2 rapid reset (1000 RST_STREAMs, then 33/s) drops the connection of
  // a ctr that cancels many reads, as `ctr images ls` does for each image. The socket is root's
  // own, so the guard is relaxed; grpc-js has no option for it, hence its http2 server options.
  Object.assign((server as unknown as { commonServerOptions: Record<string, unknown> }).commonServerOptions, {
    streamResetBurst: 1 << 20,
    streamResetRate: 1 << 20,
  });
  for (const { definition, handlers } of services) {
    server.addService(grpcServiceDefinition(definition), grpcImplementation(definition, handlers, options.observer));
  }
  if (isNamedPipe(options.address)) return servePipe(server, options.address);
  // Bound under a temporary name and renamed once its mode is right, so that no client ever
  // finds the socket with the default mode.
  const provisional = `${options.address}.${process.pid}.tmp`;
  await unlink(provisional).catch(() => undefined);
  await listenAcceptingPathAuthorities(server, provisional);
  await chown(provisional, options.uid, options.gid);
  await chmod(provisional, 0o660);
  await rename(provisional, options.address);
  return {
    async close(graceMs = 5000) {
      await shutdown(server, graceMs);
      await unlink(options.address).catch(() => undefined);
    },
  };
}

/** On Windows: the named pipe (containerd's `\\.\pipe\containerd-containerd`), with the pipe's default security descriptor, as containerd. */
async function servePipe(server: grpc.Server, address: string): Promise<RunningServer> {
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${address}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
  return {
    async close(graceMs = 5000) {
      await shutdown(server, graceMs);
    },
  };
}

/** Lets calls in flight finish for `graceMs`, then cuts the rest. */
function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
