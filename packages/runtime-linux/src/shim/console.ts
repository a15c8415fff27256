import { mkdtempSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { ReadStream } from "node:tty";
import { acceptPassedFd, closeFd, duplicateFd, listenUnix, setWindowSize } from "./libc.js";

/**
 * The socket runc sends a new terminal's master to (`--console-socket`). It lives in a fresh
 * directory of its own; `close` removes both.
 */
export class ConsoleSocket {
  readonly path: string;
  readonly #directory: string;
  readonly #fd: number;

  constructor() {
    this.#directory = mkdtempSync(join(tmpdir(), "berth-pty-"));
    this.path = join(this.#directory, "pty.sock");
    try {
      this.#fd = listenUnix(this.path);
    } catch (error) {
      rmSync(this.#directory, { recursive: true, force: true });
      throw error;
    }
  }

  /** The master runc sent; call once runc has returned (it sends before it exits). */
  receiveMaster(): number {
    const fd = acceptPassedFd(this.#fd);
    if (fd === undefined) throw new Error("runc sent no console to the console socket");
    return fd;
  }

  close(): void {
    closeFd(this.#fd);
    rmSync(this.#directory, { recursive: true, force: true });
  }
}

/** A terminal's master, read as a stream; written and resized through a descriptor of its own. */
export interface Console {
  readonly output: ReadStream;
  readonly input: Writable;
  resize(width: number, height: number): void;
  close(): void;
}

const retryMs = 5;

export function openConsole(master: number): Console {
  // The read stream owns `master` and closes it when it ends; writes use a duplicate, so that
  // they never reach a descriptor number that was reused in between.
  const writer = duplicateFd(master);
  const output = new ReadStream(master);
  output.on("error", () => undefined);
  let closed = false;
  const input = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writeAll(chunk, callback);
    },
  });
  // The master is non-blocking (the read stream made it so): a full terminal answers EAGAIN,
  // and the rest is written a little later instead of blocking the shim.
  function writeAll(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (closed) return callback();
    try {
      const written = writeSync(writer, chunk);
      if (written === chunk.byteLength) return callback();
      setTimeout(() => writeAll(chunk.subarray(written), callback), retryMs);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EAGAIN") setTimeout(() => writeAll(chunk, callback), retryMs);
      else callback(error as Error);
    }
  }
  input.on("error", () => undefined);
  return {
    output,
    input,
    resize: (width, height) => {
      if (!closed) setWindowSize(writer, width, height);
    },
    close: () => {
      if (closed) return;
      closed = true;
      output.destroy();
      closeFd(writer);
    },
  };
}
