import { constants, fchownSync, openSync } from "node:fs";
import { Socket } from "node:net";
import type { Readable } from "node:stream";
import type { Console } from "./console.js";
import { closeFd, makePipe } from "./libc.js";
import { LogDriver, type LogDriverContext, isBinaryUri } from "./log-driver.js";
import { type Output, closeQuietly, copyStream, openOutput } from "./outputs.js";
import type { Stdio } from "./runc.js";

// libuv opens every file close-on-exec.
const { O_RDONLY, O_WRONLY, O_NONBLOCK } = constants;

/** The stdio a client asked for (paths or URIs; "" for none), as Create and Exec carry them. */
export interface StdioRequest {
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly terminal: boolean;
}

/** Who owns the pipes handed to the process (runc options io_uid/io_gid, for user namespaces). */
export interface IoOwner {
  readonly uid: number;
  readonly gid: number;
}

/**
 * The stdin FIFO: read into the process, and also held open for writing by the shim so that the
 * process's stdin does not end when the client detaches; CloseIO gives up that writer, and the
 * process sees EOF once the client has closed its end too.
 */
interface StdinFifo {
  readonly reader: Socket;
  keepAlive: number | undefined;
}

/**
 * A process's stdio as the runc shim wires it: pipes between the process and the shim, copied
 * to and from the client's FIFOs or files. For a terminal the console (see `attachConsole`)
 * takes the pipes' place and stderr is unused.
 */
export class ProcessIO {
  readonly #childEnds: number[] = [];
  readonly #outputs: Output[] = [];
  /** The shim's ends of the pipes, until copying starts and streams own them. */
  readonly #ownEnds: number[] = [];
  readonly #pending: (() => void)[] = [];
  /** Copies of the process's output, which end when its pipes reach EOF, and what they read. */
  readonly #copies: Promise<void>[] = [];
  readonly #sources: Readable[] = [];
  #stdin: StdinFifo | undefined;
  #processStdin: Socket | undefined;
  #childStdio: Stdio = [null, null, null];
  #console: Console | undefined;
  #driver: LogDriver | undefined;

  private constructor(readonly request: StdioRequest) {}

  /**
   * Opens the client's FIFOs and files and makes the pipes, or starts the `binary://` log driver
   * and waits until it is ready; nothing stays open on failure.
   */
  static async open(request: StdioRequest, owner: IoOwner, driver: LogDriverContext): Promise<ProcessIO> {
    const io = new ProcessIO(request);
    try {
      await io.#open(owner, driver);
    } catch (error) {
      io.close();
      throw error;
    }
    return io;
  }

  async #open(owner: IoOwner, driverContext: LogDriverContext): Promise<void> {
    if (this.request.stdin !== "") this.#stdin = openStdinFifo(this.request.stdin);
    if (this.request.terminal) return;
    if (isBinaryUri(this.request.stdout)) {
      // The driver reads the process's pipes itself; the shim copies nothing.
      const driver = await LogDriver.start(this.request.stdout, driverContext, owner);
      this.#driver = driver;
      this.#childEnds.push(driver.stdout, driver.stderr);
      this.#copies.push(driver.finished);
      this.#childStdio = [this.#stdin === undefined ? null : this.#pipe(owner, "in"), driver.stdout, driver.stderr];
      return;
    }
    const stdout = this.request.stdout === "" ? undefined : this.#addOutput(this.request.stdout);
    const stderr = this.request.stderr === "" ? undefined : this.request.stderr === this.request.stdout ? stdout : this.#addOutput(this.request.stderr);
    const stdin = this.#stdin === undefined ? null : this.#pipe(owner, "in");
    const out = stdout === undefined ? null : this.#pipe(owner, "out", stdout);
    const err = stderr === undefined ? null : this.#pipe(owner, "out", stderr);
    this.#childStdio = [stdin, out, err];
  }

  #addOutput(uri: string): Output {
    const output = openOutput(uri);
    this.#outputs.push(output);
    return output;
  }

  #pipe(owner: IoOwner, direction: "in" | "out", output?: Output): number {
    const [read, write] = makePipe();
    if (owner.uid !== 0 || owner.gid !== 0) {
      fchownSync(read, owner.uid, owner.gid);
      fchownSync(write, owner.uid, owner.gid);
    }
    const [childEnd, ownEnd] = direction === "in" ? [read, write] : [write, read];
    this.#childEnds.push(childEnd);
    this.#ownEnds.push(ownEnd);
    this.#pending.push(() => {
      if (direction === "out") {
        this.#copyOut(new Socket({ fd: ownEnd, readable: true, writable: false }), output!);
        return;
      }
      const processStdin = new Socket({ fd: ownEnd, readable: false, writable: true });
      processStdin.on("error", () => undefined);
      this.#processStdin = processStdin;
      void copyStream(this.#stdin!.reader, processStdin).then(() => processStdin.end());
    });
    return childEnd;
  }

  #copyOut(source: Readable, output: Output): void {
    this.#sources.push(source);
    this.#copies.push(output.copyFrom(source));
  }

  /**
   * Starts copying, once runc has succeeded: what runc itself wrote on a failure stays in the
   * pipes and is dropped, as containerd's shim drops it (the error comes back in the reply).
   */
  startCopying(): void {
    this.#ownEnds.length = 0;
    for (const start of this.#pending.splice(0)) start();
  }

  /** The descriptors runc hands to the process as its stdin, stdout and stderr. */
  get childStdio(): Stdio {
    return this.#childStdio;
  }

  /** Once runc has started the process, the shim's copies of the process's ends must go. */
  releaseChildEnds(): void {
    for (const fd of this.#childEnds.splice(0)) closeFd(fd);
  }

  /** Wires a terminal's master to the client's stdin and stdout. */
  attachConsole(console: Console): void {
    this.#console = console;
    if (this.#stdin !== undefined) void copyStream(this.#stdin.reader, console.input);
    if (this.request.stdout === "") console.output.resume();
    else this.#copyOut(console.output, this.#addOutput(this.request.stdout));
  }

  resize(width: number, height: number): void {
    this.#console?.resize(width, height);
  }

  /** Gives up the shim's hold on stdin: the process sees EOF once the client has closed its end. */
  closeStdin(): void {
    const stdin = this.#stdin;
    if (stdin?.keepAlive !== undefined) {
      closeQuietly(stdin.keepAlive);
      stdin.keepAlive = undefined;
    }
  }

  /** Resolves once all output the process wrote has been delivered (its pipes reached EOF). */
  outputDelivered(): Promise<void> {
    return Promise.all(this.#copies).then(() => undefined);
  }

  /** Closes everything still open (after the process is gone, or when setting up failed). */
  close(): void {
    this.releaseChildEnds();
    for (const fd of this.#ownEnds.splice(0)) closeFd(fd);
    this.#pending.length = 0;
    this.closeStdin();
    this.#stdin?.reader.destroy();
    this.#processStdin?.destroy();
    this.#console?.close();
    // A pipe a daemonised child still holds open would otherwise keep its descriptor here.
    for (const source of this.#sources) source.destroy();
    for (const output of this.#outputs) output.destroy();
    this.#driver?.stopLater();
  }
}

function openStdinFifo(path: string): StdinFifo {
  const readerFd = openSync(path, O_RDONLY | O_NONBLOCK);
  let keepAlive: number;
  try {
    keepAlive = openSync(path, O_WRONLY | O_NONBLOCK);
  } catch (error) {
    closeQuietly(readerFd);
    throw error;
  }
  const reader = new Socket({ fd: readerFd, readable: true, writable: false });
  reader.on("error", () => undefined);
  return { reader, keepAlive };
}
