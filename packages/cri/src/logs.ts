import { type FileHandle, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import type { Readable } from "node:stream";

/** Go's RFC3339Nano: fractional seconds with trailing zeros trimmed. */
export function rfc3339Nano(date = new Date()): string {
  const iso = date.toISOString();
  return iso.replace(/\.(\d*?)0*Z$/, (_, digits: string) => (digits === "" ? "Z" : `.${digits}Z`));
}

/**
 * A container's CRI log file: each line of stdout or stderr becomes
 * `<RFC3339Nano> <stream> <F|P> <text>`; lines longer than `maxLineSize` are cut into `P`
 * records, and what is left at the end without a newline is written as `P`.
 */
export class CriLog {
  #file: FileHandle | undefined;
  #writes: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private readonly maxLineSize: number,
  ) {}

  static async open(path: string, maxLineSize: number): Promise<CriLog> {
    const log = new CriLog(path, maxLineSize);
    if (path !== "") log.#file = await CriLog.#openFile(path);
    return log;
  }

  static async #openFile(path: string): Promise<FileHandle> {
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    return open(path, "a", 0o640);
  }

  #write(stream: string, tag: "F" | "P", text: Buffer): void {
    const line = Buffer.concat([Buffer.from(`${rfc3339Nano()} ${stream} ${tag} `), text, Buffer.from("\n")]);
    this.#writes = this.#writes.then(() => this.#file?.write(line)).catch(() => undefined);
  }

  /** Copies `source` into the log as `stream` until it ends. */
  follow(source: Readable, stream: "stdout" | "stderr"): Promise<void> {
    let pending = Buffer.alloc(0);
    return new Promise<void>((resolve) => {
      source.on("data", (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        for (let newline = pending.indexOf(10); newline !== -1; newline = pending.indexOf(10)) {
          let line = pending.subarray(0, newline);
          pending = pending.subarray(newline + 1);
          if (line.at(-1) === 13) line = line.subarray(0, -1);
          while (this.maxLineSize > 0 && line.length > this.maxLineSize) {
            this.#write(stream, "P", line.subarray(0, this.maxLineSize));
            line = line.subarray(this.maxLineSize);
          }
          this.#write(stream, "F", line);
        }
        while (this.maxLineSize > 0 && pending.length > this.maxLineSize) {
          this.#write(stream, "P", pending.subarray(0, this.maxLineSize));
          pending = pending.subarray(this.maxLineSize);
        }
      });
      const done = () => {
        if (pending.length > 0) this.#write(stream, "P", pending);
        pending = Buffer.alloc(0);
        resolve();
      };
      source.once("end", done);
      source.once("close", done);
      source.once("error", done);
    });
  }

  /** ReopenContainerLog: a new file at the same path takes the following lines. */
  async reopen(): Promise<void> {
    if (this.path === "") return;
    const next = await CriLog.#openFile(this.path);
    const previous = this.#file;
    this.#writes = this.#writes.then(async () => {
      this.#file = next;
      await previous?.close();
    });
    await this.#writes;
  }

  async close(): Promise<void> {
    await this.#writes;
    await this.#file?.close().catch(() => undefined);
    this.#file = undefined;
  }
}
