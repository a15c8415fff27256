import { SyscallError, check, lastError } from "./errors.js";
import { koffi, libc } from "./libc.js";

export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

/** getsockopt(SO_PEERCRED): who is at the other end of the connected unix socket `fd`. */
export function peerCredentialsOfFd(fd: number): PeerCredentials {
  const value = Buffer.alloc(12);
  check(libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, value, [value.length]), "getsockopt(SO_PEERCRED)");
  return { pid: value.readInt32LE(0), uid: value.readUInt32LE(4), gid: value.readUInt32LE(8) };
}

const SCM_RIGHTS = 1;
const MSG_DONTWAIT = 0x40;
const MSG_CMSG_CLOEXEC = 0x40000000;

// One stable native block for recvmsg: msghdr at 0, iovec at 64, one data byte at 80, control at 96.
let receiveBlock: unknown;

/**
 * Receives, without waiting, the descriptor the peer of the unix socket `connection` sent with
 * SCM_RIGHTS (runc's `--console-socket` protocol), close-on-exec.
 */
export function receiveDescriptor(connection: number): number {
  const ffi = koffi();
  receiveBlock ??= ffi.alloc("uint8_t", 256);
  const block = receiveBlock;
  const base = ffi.address(block);
  ffi.encode(block, 0, "uint8_t", new Array(256).fill(0), 256);
  // struct msghdr { name, namelen, iov, iovlen, control, controllen, flags }
  ffi.encode(block, 16, "uint64_t", base + 64n);
  ffi.encode(block, 24, "uint64_t", 1n);
  ffi.encode(block, 32, "uint64_t", base + 96n);
  ffi.encode(block, 40, "uint64_t", 64n);
  // struct iovec { base, len } over the data byte (runc sends the pty's name as data).
  ffi.encode(block, 64, "uint64_t", base + 80n);
  ffi.encode(block, 72, "uint64_t", 1n);
  if (Number(libc().recvmsg(connection, block, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) < 0) throw lastError("recvmsg");
  // struct cmsghdr { uint64 len; int level; int type; int fds[] } at the control offset.
  const level = ffi.decode(block, 104, "int32_t") as number;
  const type = ffi.decode(block, 108, "int32_t") as number;
  if (level !== SOL_SOCKET || type !== SCM_RIGHTS) throw new SyscallError("recvmsg: no descriptor received", 0);
  return ffi.decode(block, 112, "int32_t") as number;
}
