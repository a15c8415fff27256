import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import koffi from "koffi";

export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

let getsockopt: ((fd: number, level: number, name: number, value: Buffer, length: number[]) => number) | undefined;

// Node has no getsockopt; SO_PEERCRED is read through libc, loaded on first use.
function load() {
  getsockopt ??= koffi.load("libc.so.6").func("int getsockopt(int fd, int level, int name, _Out_ uint8_t *value, _Inout_ uint32_t *length)");
  return getsockopt;
}

/**
 * Whether `stream` carries its peer's credentials: a unix socket on Linux (SO_PEERCRED). Named
 * pipes on Windows and in-process streams do not.
 */
export function peerCredentialsAvailable(stream: Duplex): stream is Socket {
  if (process.platform !== "linux" || !(stream instanceof Socket)) return false;
  const fd = (stream as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === "number" && fd >= 0 && stream.remoteAddress === undefined;
}

/** The uid, gid and pid of the process at the other end of a connected unix socket. */
export function peerCredentials(socket: Socket): PeerCredentials {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) throw new Error("ttrpc: socket has no file descriptor");
  const value = Buffer.alloc(12);
  const length = [value.length];
  if (load()(fd, SOL_SOCKET, SO_PEERCRED, value, length) !== 0) throw new Error(`ttrpc: getsockopt SO_PEERCRED: errno ${koffi.errno()}`);
  return { pid: value.readInt32LE(0), uid: value.readUInt32LE(4), gid: value.readUInt32LE(8) };
}

/** Whether the peer runs as this process's effective uid and gid, as ttrpc's UnixSocketRequireSameUser demands. */
export function peerIsSameUser(socket: Socket): boolean {
  const peer = peerCredentials(socket);
  return peer.uid === process.geteuid!() && peer.gid === process.getegid!();
}
