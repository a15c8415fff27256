import type { Server } from "node:http";
import { invalidArgument } from "@berth/api";
import type { Logger } from "../log.js";
import type { DaemonMetrics } from "./registry.js";

// `import { … } from "node:http"` in an ES module builds http's ESM facade, which reads every export,
// among them the lazy WebSocket, CloseEvent and MessageEvent getters: that loads all of Node's bundled
// undici (~1.2 MB of berthd's heap) into a daemon that never uses it. The CommonJS module alone does not.
const { createServer } = process.getBuiltinModule("node:http");

/** containerd's `[metrics] address`: "host:port", "[v6]:port" or ":port" (every interface). */
export function parseListenAddress(address: string): { host: string | undefined; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (match === null) throw invalidArgument(`metrics.address: ${JSON.stringify(address)} is not host:port`);
  const port = Number(match[3]);
  if (port > 65535) throw invalidArgument(`metrics.address: port ${port} is out of range`);
  const host = match[1] ?? match[2];
  return { host: host === "" ? undefined : host, port };
}

export interface MetricsServer {
  /** The address it listens on, with the port it got (for ":0"). */
  readonly address: string;
  close(): Promise<void>;
}

/** Serves `GET /v1/metrics` in the Prometheus text format, as containerd's metrics listener does. */
export async function serveMetrics(metrics: DaemonMetrics, address: string, logger: Logger): Promise<MetricsServer> {
  const { host, port } = parseListenAddress(address);
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path !== "/v1/metrics") {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("404 page not found\n");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { "content-type": "text/plain; charset=utf-8", allow: "GET, HEAD" }).end("method not allowed\n");
      return;
    }
    metrics.scrape().then(
      (text) => response.writeHead(200, { "content-type": metrics.contentType }).end(request.method === "HEAD" ? undefined : text),
      (error: Error) => {
        logger.error({ err: error }, "metrics scrape failed");
        response.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end(`${error.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const listening = typeof bound === "object" && bound !== null ? `${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}` : address;
  return {
    address: listening,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
