import { randomBytes } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { errorOfKind, failedPrecondition, invalidArgument } from "@berth/api";
import { criV1 } from "@berth/api/cri";
import { containerState } from "./containers.js";
import type { CriContext } from "./context.js";
import { serveSpdyAttach, serveSpdyExec, serveSpdyPortForward } from "./stream-handlers.js";
import { serveWebSocketAttach, serveWebSocketExec, serveWebSocketPortForward } from "./websocket.js";

// `import { … } from "node:http"` in an ES module builds http's ESM facade, which reads every export,
// among them the lazy WebSocket, CloseEvent and MessageEvent getters: that loads all of Node's bundled
// undici (~1.2 MB of berthd's heap) into a daemon that never uses it. The CommonJS module alone does not.
const { createServer } = process.getBuiltinModule("node:http");

export type StreamRequest =
  | { readonly kind: "exec"; readonly request: criV1.ExecRequest }
  | { readonly kind: "attach"; readonly request: criV1.AttachRequest }
  | { readonly kind: "portforward"; readonly request: criV1.PortForwardRequest };

/** A cached request lives this long and is used once (containerd's request cache). */
const tokenLifeMs = 60_000;
const maxInFlight = 1000;

/**
 * The CRI streaming server: Exec, Attach and PortForward return a URL here with a one-time token;
 * the client then upgrades the connection to SPDY/3.1 (or WebSocket) on that URL.
 */
export class StreamingServer {
  readonly #cache = new Map<string, { stream: StreamRequest; expires: number }>();

  private constructor(
    private readonly context: CriContext,
    private readonly server: Server,
    private readonly base: string,
  ) {}

  static async start(context: CriContext): Promise<StreamingServer> {
    const server = createServer();
    const host = context.config.stream_server_address || "127.0.0.1";
    const port = Number(context.config.stream_server_port || "0");
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
    const streaming = new StreamingServer(context, server, `http://${urlHost}:${address.port}`);
    server.on("request", (request, response) => {
      if (!streaming.#route(request, response.socket!, Buffer.alloc(0))) {
        response.writeHead(404).end();
      }
    });
    server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!streaming.#route(request, socket, head)) socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    });
    return streaming;
  }

  #take(kind: string, token: string): StreamRequest | undefined {
    const entry = this.#cache.get(token);
    if (entry === undefined || entry.stream.kind !== kind) return undefined;
    this.#cache.delete(token);
    return entry.expires < Date.now() ? undefined : entry.stream;
  }

  #route(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const match = /^\/(exec|attach|portforward)\/([^/?]+)/.exec(request.url ?? "");
    if (match === null) return false;
    const stream = this.#take(match[1]!, match[2]!);
    if (stream === undefined) return false;
    const done = (error?: unknown) => {
      if (error !== undefined) socket.destroy();
    };
    const websocket = (request.headers.upgrade ?? "").toLowerCase() === "websocket";
    let serving: Promise<void>;
    if (stream.kind === "exec") serving = (websocket ? serveWebSocketExec : serveSpdyExec)(this.context, stream.request, request, socket, head);
    else if (stream.kind === "attach") serving = (websocket ? serveWebSocketAttach : serveSpdyAttach)(this.context, stream.request, request, socket, head);
    else serving = (websocket ? serveWebSocketPortForward : serveSpdyPortForward)(this.context, stream.request, request, socket, head);
    serving.then(() => done(), done);
    return true;
  }

  #cacheRequest(stream: StreamRequest): string {
    const now = Date.now();
    for (const [token, entry] of this.#cache) if (entry.expires < now) this.#cache.delete(token);
    if (this.#cache.size >= maxInFlight) throw errorOfKind("Unavailable", "maximum number of in-flight requests exceeded");
    const token = randomBytes(6).toString("base64url");
    this.#cache.set(token, { stream, expires: now + tokenLifeMs });
    return `${this.base}/${stream.kind}/${token}`;
  }

  #runningContainer(id: string): string {
    if (id === "") throw invalidArgument("missing required container_id");
    const record = this.context.containers.get(id);
    const state = containerState(record.status);
    if (state !== criV1.ContainerState.CONTAINER_RUNNING) throw failedPrecondition(`container is in ${criV1.containerStateToJSON(state)} state`);
    return record.id;
  }

  exec(request: criV1.ExecRequest): string {
    const containerId = this.#runningContainer(request.containerId);
    if (request.tty && request.stderr) throw invalidArgument("tty and stderr cannot both be true");
    if (!request.stdin && !request.stdout && !request.stderr) throw invalidArgument("one of stdin, stdout, or stderr must be set");
    return this.#cacheRequest({ kind: "exec", request: { ...request, containerId } });
  }

  attach(request: criV1.AttachRequest): string {
    const containerId = this.#runningContainer(request.containerId);
    if (request.tty && request.stderr) throw invalidArgument("tty and stderr cannot both be true");
    if (!request.stdin && !request.stdout && !request.stderr) throw invalidArgument("one of stdin, stdout, or stderr must be set");
    return this.#cacheRequest({ kind: "attach", request: { ...request, containerId } });
  }

  portForward(request: criV1.PortForwardRequest): string {
    if (request.podSandboxId === "") throw invalidArgument("missing required pod_sandbox_id");
    const sandbox = this.context.sandboxes.get(request.podSandboxId);
    if (sandbox.state !== "ready") throw failedPrecondition(`sandbox container ${JSON.stringify(sandbox.id)} is not running`);
    return this.#cacheRequest({ kind: "portforward", request: { ...request, podSandboxId: sandbox.id } });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
