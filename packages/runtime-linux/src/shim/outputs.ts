import { closeSync, constants, createWriteStream, mkdirSync, openSync, statSync } from "node:fs";
import { Socket } from "node:net";
import { dirname } from "node:path";
import type { Readable, Writable } from "node:stream";
import { invalidArgument } from "@berth/api";

// libuv opens every file close-on-exec.
const { O_RDONLY, O_WRONLY, O_NONBLOCK, O_APPEND, O_CREAT } = constants;

/**
 * Where a process's output goes: a FIFO the client reads, or a file it is appended to. stdout
 * and stderr may share one; it ends when the last of its sources has.
 */
export class Output {
  #sources = 0;
  #ended: Promise<void> | undefined;
  #onEnd: (() => void) | undefined;

  /** `onEnd` runs once, when the output ends or is destroyed, whichever comes first. */
  constructor(
    readonly stream: Writable,
    onEnd?: () => void,
  ) {
    this.#onEnd = onEnd;
    stream.on("error", () => undefined);
  }

  /** Copies `source` in until it ends; resolves once this output has ended and flushed. */
  async copyFrom(source: Readable): Promise<void> {
    this.#sources += 1;
    await copyStream(source, this.stream);
    this.#sources -= 1;
    if (this.#sources === 0) this.#ended ??= this.#end();
    await this.#ended;
  }

  #end(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.stream.destroyed) resolve();
      else this.stream.end(() => resolve());
    }).finally(() => this.#release());
  }

  /** Closes it now, delivered or not. */
  destroy(): void {
    this.stream.destroy();
    this.#release();
  }

  // A second close would hit whatever reused the descriptor number meanwhile.
  #release(): void {
    const onEnd = this.#onEnd;
    this.#onEnd = undefined;
    onEnd?.();
  }
}

/**
 * Where the client asked stdout or stderr to go, containerd's way: no scheme or `fifo://` is a
 * path (a FIFO, or else an existing file appended to), `file:///path` a file created if missing.
 * `binary://` (a logging program, see `LogDriver`) is stdout's alone to name.
 */
export function outputTarget(uri: string): { path: string; create: boolean } {
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri);
  if (match === null) return { path: uri, create: false };
  const scheme = match[1]!.toLowerCase();
  const url = new URL(uri);
  if (scheme === "fifo") return { path: decodeURIComponent(url.pathname), create: false };
  if (scheme === "file") return { path: decodeURIComponent(url.pathname), create: true };
  if (scheme === "binary") throw invalidArgument(`stdio: a binary:// log driver must be named by stdout (${uri})`);
  throw invalidArgument(`stdio: unknown STDIO scheme ${scheme}`);
}

/**
 * Opens an output. A FIFO is opened for writing and also kept open for reading, so that writes
 * never fail with EPIPE once the client detaches (they wait for a reader instead).
 */
export function openOutput(uri: string): Output {
  const { path, create } = outputTarget(uri);
  if (create) {
    mkdirSync(dirname(path), { recursive: true });
    return appendTo(path, O_WRONLY | O_APPEND | O_CREAT);
  }
  if (statSync(path).isFIFO()) {
    const reader = openSync(path, O_RDONLY | O_NONBLOCK);
    try {
      const writer = openSync(path, O_WRONLY | O_NONBLOCK);
      return new Output(new Socket({ fd: writer, readable: false, writable: true }), () => closeQuietly(reader));
    } catch (error) {
      closeQuietly(reader);
      throw error;
    }
  }
  return appendTo(path, O_WRONLY | O_APPEND);
}

function appendTo(path: string, flags: number): Output {
  return new Output(createWriteStream("", { fd: openSync(path, flags, 0o644) }));
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/**
 * Copies `source` into `destination` with backpressure until the source ends (or fails: a
 * terminal's master reports EIO once the last slave closes). A destination that fails is
 * drained into nothing, so that the process never blocks on output nobody can take.
 */
export function copyStream(source: Readable, destination: Writable): Promise<void> {
  return new Promise((resolve) => {
    let broken = destination.destroyed;
    const onError = () => {
      broken = true;
      source.resume();
    };
    destination.on("error", onError);
    source.on("data", (chunk: Buffer) => {
      if (broken) return;
      if (!destination.write(chunk)) {
        source.pause();
        destination.once("drain", () => source.resume());
      }
    });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      destination.off("error", onError);
      resolve();
    };
    source.once("end", finish);
    source.once("error", finish);
    source.once("close", finish);
  });
}
