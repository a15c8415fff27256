import { mkdir, mkdtemp, rm, rmdir } from "node:fs/promises";
import type { Socket } from "node:net";
import { dirname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { mkfifo, openFifo } from "./fifo.js";
import type { ProcessIO } from "./tasks.js";

/** Where containerd's ctr makes FIFOs unless told otherwise; Berth's clients pass their own. */
export const defaultFifoRoot = "/run/berth/fifo";

/** A process's FIFOs in a directory of their own, as containerd's cio.NewFIFOSetInDir makes them. */
export interface FifoSet extends ProcessIO {
  readonly directory: string;
}

/**
 * Makes `<root>/<random>/<id>-stdin`, `-stdout` and (without a terminal) `-stderr`, mode 0700.
 * `id` is the container id, or the exec id for an exec process.
 */
export async function newFifoSet(root: string, id: string, terminal: boolean): Promise<FifoSet> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const directory = await mkdtemp(`${root.replace(/\/+$/, "")}/`);
  try {
    const path = (stream: string) => join(directory, `${id}-${stream}`);
    const fifos: FifoSet = { directory, stdin: path("stdin"), stdout: path("stdout"), stderr: terminal ? "" : path("stderr"), terminal };
    for (const fifo of [fifos.stdin, fifos.stdout, fifos.stderr]) if (fifo !== "") mkfifo(fifo);
    return fifos;
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

/** Removes the FIFOs a task reported (Tasks.Get) and their directories, as ctr does after a delete. */
export async function removeFifos(io: ProcessIO): Promise<void> {
  const paths = [io.stdin, io.stdout, io.stderr].filter((path) => path !== "" && !path.includes("://"));
  for (const path of paths) await rm(path, { force: true });
  for (const directory of new Set(paths.map((path) => dirname(path)))) await rmdir(directory).catch(() => undefined);
}

export interface Streams {
  readonly stdin?: Readable | undefined;
  readonly stdout?: Writable | undefined;
  readonly stderr?: Writable | undefined;
}

/**
 * The client's ends of a process's FIFOs, copying to and from `streams` (containerd's cio.IO):
 * stdin is copied in until it ends, then the FIFO is closed and `onStdinEnd` runs (ctr closes the
 * process's stdin with Tasks.CloseIO there); stdout and stderr are copied out until the shim
 * closes them.
 */
export class AttachedIO {
  readonly #sockets: Socket[] = [];
  readonly #outputs: Promise<void>[] = [];
  #stdinSource: Readable | undefined;
  #onStdinEnd: (() => Promise<void>) | undefined;

  private constructor(readonly paths: ProcessIO) {}

  static attach(paths: ProcessIO, streams: Streams): AttachedIO {
    const io = new AttachedIO(paths);
    try {
      io.#copyOut(paths.stdout, streams.stdout);
      io.#copyOut(paths.stderr, streams.stderr);
      if (paths.stdin !== "" && streams.stdin !== undefined) io.#copyIn(paths.stdin, streams.stdin);
    } catch (error) {
      io.close();
      throw error;
    }
    return io;
  }

  /** Called once stdin has ended and its FIFO is closed. */
  set onStdinEnd(closer: () => Promise<void>) {
    this.#onStdinEnd = closer;
  }

  #copyOut(path: string, sink: Writable | undefined): void {
    if (path === "" || sink === undefined) return;
    const socket = openFifo(path, "read");
    this.#sockets.push(socket);
    this.#outputs.push(
      new Promise<void>((resolve) => {
        socket.on("data", (chunk: Buffer) => sink.write(chunk));
        socket.once("close", () => resolve());
        socket.once("error", () => resolve());
      }),
    );
  }

  #copyIn(path: string, source: Readable): void {
    const socket = openFifo(path, "write");
    this.#sockets.push(socket);
    socket.on("error", () => undefined);
    this.#stdinSource = source;
    const onData = (chunk: Buffer) => socket.write(chunk);
    source.on("data", onData);
    source.once("end", () => {
      source.off("data", onData);
      socket.end(() => {
        socket.destroy();
        void this.#onStdinEnd?.().catch(() => undefined);
      });
    });
  }

  /** Resolves once stdout and stderr have reached their end, or after `timeoutMs` if given. */
  async wait(timeoutMs?: number): Promise<void> {
    const done = Promise.all(this.#outputs).then(() => undefined);
    if (timeoutMs === undefined) return done;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Stops copying and closes the client's FIFO ends; the process keeps running. */
  close(): void {
    this.#stdinSource?.pause();
    this.#stdinSource?.removeAllListeners("data");
    for (const socket of this.#sockets) socket.destroy();
  }
}
