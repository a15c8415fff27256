import { constants, openSync } from "node:fs";
import { Socket } from "node:net";
import { errorOfKind } from "@berth/api";
import { SyscallError, mkfifo as makeFifo } from "@berth/libc";

/** mkfifo(3), which Node lacks; AlreadyExists when `path` exists. */
export function mkfifo(path: string, mode = 0o700): void {
  try {
    makeFifo(path, mode);
  } catch (error) {
    if (!(error instanceof SyscallError)) throw error;
    throw errorOfKind(error.code === "EEXIST" ? "AlreadyExists" : "Internal", error.message);
  }
}

/**
 * Opens a FIFO as a stream without blocking: the read end O_RDONLY|O_NONBLOCK (it sees EOF once
 * every writer that came has gone), the write end O_RDWR, which Linux opens at once even before a
 * reader comes (containerd's fifo package waits in the background instead).
 */
export function openFifo(path: string, direction: "read" | "write"): Socket {
  // Synchronous is fine: with O_NONBLOCK (or O_RDWR) opening a FIFO never waits.
  const flags = direction === "read" ? constants.O_RDONLY | constants.O_NONBLOCK : constants.O_RDWR | constants.O_NONBLOCK;
  return new Socket({ fd: openSync(path, flags), readable: direction === "read", writable: direction === "write" });
}
