import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type PeerCredentials, peerCredentialsOfFd } from "@berth/libc";

export type { PeerCredentials };

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
  return peerCredentialsOfFd(fd);
}

/** Whether the peer runs as this process's effective uid and gid, as ttrpc's UnixSocketRequireSameUser demands. */
export function peerIsSameUser(socket: Socket): boolean {
  const peer = peerCredentials(socket);
  return peer.uid === process.geteuid!() && peer.gid === process.getegid!();
}
