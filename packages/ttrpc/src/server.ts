import { chmod, unlink } from "node:fs/promises";
import { type Server, createServer } from "node:net";
import type { Duplex } from "node:stream";
import { type CallContext, errorOfKind, namespaceTtrpcHeader } from "@berth/api";
import * as ttrpc from "@berth/api/gen/ttrpc/ttrpc";
import type { MethodDefinition, ServiceDefinition } from "@berth/api/services";
import { type Frame, FrameDecoder, encodeFrame, maxMessageLength, messageTypes } from "./frame.js";
import { peerCredentialsAvailable, peerIsSameUser } from "./peercred.js";
import { statusOfError } from "./status.js";

type UnaryHandler<M> = M extends MethodDefinition<infer Req, infer Res, false, false> ? (request: Req, context: TtrpcCallContext) => Promise<Res> : never;

/** Handlers for every method of a ttrpc service (all unary). */
export type TtrpcHandlers<D extends ServiceDefinition> = { readonly [K in keyof D["methods"]]: UnaryHandler<D["methods"][K]> };

/** What a handler learns about its call: namespace (from `containerd-namespace-ttrpc`), all metadata, a signal for timeout or disconnect. */
export interface TtrpcCallContext extends CallContext {
  readonly metadata: ReadonlyMap<string, string>;
  readonly signal: AbortSignal;
}

interface Route {
  readonly method: MethodDefinition;
  readonly handler: (request: unknown, context: TtrpcCallContext) => Promise<unknown>;
}

export interface TtrpcServerOptions {
  /**
   * Refuse peers whose uid/gid differ from ours (SO_PEERCRED), as containerd's servers do, where
   * the connection has them (a unix socket on Linux; not a named pipe, nor an in-process stream). Default true.
   */
  readonly requireSameUser?: boolean;
  /** Told about connections refused and handlers that failed unexpectedly. */
  readonly onError?: (error: Error) => void;
}

/** Where to listen: a unix socket path (created with `mode`, default 0600), or an inherited listening fd. */
export type ListenTarget = { readonly path: string; readonly mode?: number } | { readonly fd: number };

/**
 * A ttrpc server. Services are registered by full name; a request for an unknown service or method
 * gets Unimplemented, an even stream id InvalidArgument, an oversized message ResourceExhausted.
 * Frames of unknown type are ignored. Requests on one connection run concurrently.
 */
export class TtrpcServer {
  readonly #routes = new Map<string, Map<string, Route>>();
  readonly #connections = new Set<Duplex>();
  readonly #inflight = new Set<AbortController>();
  readonly #options: TtrpcServerOptions;
  #server: Server | undefined;
  #path: string | undefined;

  constructor(options: TtrpcServerOptions = {}) {
    this.#options = options;
  }

  register<D extends ServiceDefinition>(service: D, handlers: TtrpcHandlers<D>): this {
    const methods = new Map<string, Route>();
    for (const [key, method] of Object.entries(service.methods)) {
      const handler = (handlers as Record<string, Route["handler"] | undefined>)[key];
      if (handler === undefined) throw new Error(`no handler for ${service.fullName}/${method.name}`);
      methods.set(method.name, { method, handler });
    }
    this.#routes.set(service.fullName, methods);
    return this;
  }

  async listen(target: ListenTarget): Promise<void> {
    const server = createServer((socket) => this.serve(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen("fd" in target ? { fd: target.fd } : { path: target.path }, () => {
        server.removeListener("error", reject);
        resolve();
      });
    });
    if ("path" in target) {
      this.#path = target.path;
      // A named pipe has no file mode (its access is its security descriptor).
      if (!isNamedPipe(target.path)) await chmod(target.path, target.mode ?? 0o600);
    }
  }

  /** Serves one connection: a socket, a named pipe or any duplex stream (also usable without `listen`). */
  serve(socket: Duplex): void {
    if (this.#options.requireSameUser !== false && peerCredentialsAvailable(socket)) {
      let allowed: boolean;
      try {
        allowed = peerIsSameUser(socket);
      } catch (error) {
        this.#options.onError?.(error as Error);
        allowed = false;
      }
      if (!allowed) {
        this.#options.onError?.(new Error("ttrpc: invalid credentials: peer uid/gid differ from the server's"));
        socket.destroy();
        return;
      }
    }
    this.#connections.add(socket);
    const controllers = new Set<AbortController>();
    const decoder = new FrameDecoder(
      (frame) => this.#dispatch(socket, frame, controllers),
      (frame) => {
        if (frame.type !== messageTypes.request) return;
        this.#respond(
          socket,
          frame.streamId,
          undefined,
          errorOfKind("ResourceExhausted", `message length ${frame.length} exceed maximum message size of ${maxMessageLength}`),
        );
      },
    );
    socket.on("data", (chunk: Buffer) => decoder.push(chunk));
    socket.on("error", () => {
      // "close" follows.
    });
    socket.once("close", () => {
      this.#connections.delete(socket);
      for (const controller of controllers) controller.abort();
    });
  }

  /** Stops accepting, aborts calls in flight, closes every connection and removes the socket file. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    const closed = server === undefined ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    for (const controller of this.#inflight) controller.abort();
    for (const socket of this.#connections) socket.destroy();
    await closed;
    if (this.#path !== undefined && !isNamedPipe(this.#path)) await unlink(this.#path).catch(() => undefined);
  }

  #dispatch(socket: Duplex, frame: Frame, controllers: Set<AbortController>): void {
    if (frame.type !== messageTypes.request) return;
    if (frame.streamId % 2 === 0) {
      this.#respond(socket, frame.streamId, undefined, errorOfKind("InvalidArgument", "StreamID must be odd for client initiated streams"));
      return;
    }
    let request: ttrpc.Request;
    try {
      request = ttrpc.Request.decode(frame.payload);
    } catch (error) {
      this.#respond(socket, frame.streamId, undefined, errorOfKind("InvalidArgument", `malformed request: ${(error as Error).message}`));
      return;
    }
    const service = this.#routes.get(request.service);
    const route = service?.get(request.method);
    if (route === undefined) {
      const missing = service === undefined ? `service ${request.service}` : `method ${request.method}`;
      this.#respond(socket, frame.streamId, undefined, errorOfKind("NotImplemented", missing));
      return;
    }
    const controller = new AbortController();
    const timeoutMs = request.timeoutNano > 0 ? Math.max(1, Math.ceil(request.timeoutNano / 1e6)) : undefined;
    const signal = timeoutMs === undefined ? controller.signal : AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)]);
    const metadata = new Map(request.metadata.map(({ key, value }) => [key, value]));
    const context: TtrpcCallContext = { namespace: metadata.get(namespaceTtrpcHeader), metadata, signal };
    controllers.add(controller);
    this.#inflight.add(controller);
    Promise.resolve()
      .then(() => route.handler(route.method.requestType.decode(request.payload), context))
      .then(
        (response) => this.#respond(socket, frame.streamId, route.method.responseType.encode(response).finish()),
        (error) => this.#respond(socket, frame.streamId, undefined, error),
      )
      .finally(() => {
        controllers.delete(controller);
        this.#inflight.delete(controller);
      });
  }

  #respond(socket: Duplex, streamId: number, payload: Uint8Array | undefined, error?: unknown): void {
    if (socket.destroyed) return;
    if (payload !== undefined && payload.length > maxMessageLength) {
      error = errorOfKind("ResourceExhausted", `message length ${payload.length} exceed maximum message size of ${maxMessageLength}`);
      payload = undefined;
    }
    const response: ttrpc.Response =
      error === undefined
        ? { status: { code: 0, message: "", details: [] }, payload: Buffer.from(payload ?? new Uint8Array()) }
        : { status: statusOfError(error), payload: Buffer.alloc(0) };
    socket.write(encodeFrame(streamId, messageTypes.response, ttrpc.Response.encode(response).finish()));
  }
}

/** `\\.\pipe\…`: a Windows named pipe, which Node listens on and dials natively. */
export const isNamedPipe = (path: string): boolean => /^[\\/]{2}[.?][\\/]pipe[\\/]/i.test(path);
