/**
 * The libc calls Node lacks, for the whole project: libc.so.6 is loaded once, through koffi,
 * on the first call (importing this package loads no native code). Linux (glibc) only.
 */
export type { Libc } from "./libc.js";
export { errno, libc } from "./libc.js";
export { SyscallError, check, errnoName, lastError } from "./errors.js";
export { lgetxattr, lgetxattrs, llistxattr, lsetxattr, mkfifo, mknod } from "./filesystem.js";
export { mallocTrim } from "./memory.js";
export type { PeerCredentials } from "./sockets.js";
export { peerCredentialsOfFd, receiveDescriptor } from "./sockets.js";
