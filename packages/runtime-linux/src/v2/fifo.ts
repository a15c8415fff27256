import { constants, openSync } from "node:fs";
import { Socket } from "node:net";
import { SyscallError, mkfifo } from "@berth/libc";

/** mkfifo(3), which Node lacks; an existing FIFO is kept. */
export function makeFifo(path: string, mode = 0o700): void {
  try {
    mkfifo(path, mode);
  } catch (error) {
    if (!(error instanceof SyscallError && error.code === "EEXIST")) throw error;
  }
}

/**
 * Opens a FIFO read-write and non-blocking, as containerd opens a shim's log: neither end ever
 * blocks, and reads go through the event loop rather than a thread of the pool.
 */
export function openFifoReader(path: string): Socket {
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}

/** Passes each line the shim logs to `onLine`; returns a function that stops reading. */
export function followShimLog(path: string, onLine: (line: string) => void): () => void {
  const pipe = openFifoReader(path);
  let partial = "";
  pipe.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "") onLine(line);
  });
  pipe.on("error", () => undefined);
  return () => pipe.destroy();
}
