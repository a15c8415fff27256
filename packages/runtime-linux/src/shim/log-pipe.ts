import { rmSync } from "node:fs";
import { type Server, type Socket, createServer } from "node:net";
import { type LogLevel, logLine } from "./log.js";

/**
 * The shim's log the Windows way round: the shim serves it (on Windows the pipe
 * `\\.\pipe\containerd-shim-<ns>-<id>-log`) and the daemon dials in; each line goes to every
 * daemon connected (a new connection is a restarted daemon). Berth's shim does this when
 * `BERTH_SHIM_LOG_PIPE` names where to serve it: the Windows seam of the shim v2 core sets it when
 * it drives this shim on Linux, with the pipe mapped to a unix socket. Lines with nobody connected are dropped.
 */
export class PipeLog {
  readonly #server: Server;
  readonly #clients = new Set<Socket>();

  constructor(
    private readonly path: string,
    private readonly debugEnabled: boolean,
  ) {
    rmSync(path, { force: true });
    this.#server = createServer((client) => {
      this.#clients.add(client);
      client.on("error", () => undefined);
      client.once("close", () => this.#clients.delete(client));
    });
    this.#server.on("error", () => undefined);
    this.#server.listen(path);
    // The log never keeps the shim alive.
    this.#server.unref();
  }

  /** One pipe per shim, whatever bundles it serves. */
  follow(): void {}

  write(level: LogLevel, message: string, fields: Readonly<Record<string, string | number>> = {}): void {
    if (level === "debug" && !this.debugEnabled) return;
    const line = logLine(level, message, fields);
    for (const client of this.#clients) client.write(line);
  }

  close(): void {
    for (const client of this.#clients) client.end();
    this.#server.close();
    rmSync(this.path, { force: true });
  }
}
