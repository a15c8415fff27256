import { closeSync, constants, openSync, writeSync } from "node:fs";

export type LogLevel = "debug" | "info" | "warning" | "error";

/**
 * The shim's log: logrus text lines (as containerd's shims write them) into the `log` FIFO of a
 * bundle it serves, which containerd copies to its own log. It starts with the bundle that
 * started the server and moves to another live bundle's FIFO when that one's task is deleted
 * (see `follow`). Writing never blocks and never fails the caller: with no reader, or a full
 * pipe, the line is dropped.
 */
export class ShimLog {
  #fd: number | undefined;
  /** The FIFO `#fd` writes to, while it is open. */
  #fifo: string | undefined;

  constructor(
    fifo: string,
    private readonly debugEnabled: boolean,
  ) {
    this.#open(fifo);
  }

  /** Keeps writing to one of `fifos` (the live bundles' logs, oldest first): the current one while it is listed and open, else the newest that opens. */
  follow(fifos: readonly string[]): void {
    if (this.#fifo !== undefined && fifos.includes(this.#fifo)) return;
    this.close();
    for (const fifo of [...fifos].reverse()) if (this.#open(fifo)) return;
  }

  #open(fifo: string): boolean {
    try {
      this.#fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      this.#fifo = fifo;
      return true;
    } catch {
      // No reader (ENXIO) or no FIFO: nobody would see the lines.
      return false;
    }
  }

  write(level: LogLevel, message: string, fields: Readonly<Record<string, string | number>> = {}): void {
    if (this.#fd === undefined || (level === "debug" && !this.debugEnabled)) return;
    try {
      writeSync(this.#fd, logLine(level, message, fields));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EPIPE") this.close();
    }
  }

  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
    this.#fifo = undefined;
  }
}

/** One logrus text line, as containerd's shims write them. */
export function logLine(level: LogLevel, message: string, fields: Readonly<Record<string, string | number>> = {}): string {
  const extra = Object.entries(fields)
    .map(([key, value]) => ` ${key}=${quote(String(value))}`)
    .join("");
  return `time="${new Date().toISOString()}" level=${level} msg=${quote(message)}${extra}\n`;
}

function quote(value: string): string {
  return /^[\w./:-]+$/.test(value) ? value : JSON.stringify(value);
}
