import { closeSync, constants, openSync, writeSync } from "node:fs";

export type LogLevel = "debug" | "info" | "warning" | "error";

/**
 * The shim's log: logrus text lines (as containerd's shims write them) into the `log` FIFO of the
 * bundle that started the server, which containerd copies to its own log. Writing never blocks
 * and never fails the caller: with no reader, or a full pipe, the line is dropped.
 */
export class ShimLog {
  #fd: number | undefined;

  constructor(
    fifo: string,
    private readonly debugEnabled: boolean,
  ) {
    try {
      this.#fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch {
      this.#fd = undefined;
    }
  }

  write(level: LogLevel, message: string, fields: Readonly<Record<string, string | number>> = {}): void {
    if (this.#fd === undefined || (level === "debug" && !this.debugEnabled)) return;
    const extra = Object.entries(fields)
      .map(([key, value]) => ` ${key}=${quote(String(value))}`)
      .join("");
    try {
      writeSync(this.#fd, `time="${new Date().toISOString()}" level=${level} msg=${quote(message)}${extra}\n`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EPIPE") this.close();
    }
  }

  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}

function quote(value: string): string {
  return /^[\w./:-]+$/.test(value) ? value : JSON.stringify(value);
}
