import { constants, openSync } from "node:fs";
import { Socket } from "node:net";
import koffi from "koffi";
import { errorOfKind } from "@berth/api";

let mkfifoCall: ((path: string, mode: number) => number) | undefined;

/** mkfifo(3), which Node lacks; loaded through koffi on first use. */
export function mkfifo(path: string, mode = 0o700): void {
  mkfifoCall ??= koffi.load("libc.so.6").func("int mkfifo(const char *pathname, unsigned int mode)") as (path: string, mode: number) => number;
  if (mkfifoCall(path, mode) !== 0) {
    const errno = koffi.errno();
    throw errorOfKind(errno === 17 ? "AlreadyExists" : "Internal", `mkfifo ${path}: errno ${errno}`);
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
