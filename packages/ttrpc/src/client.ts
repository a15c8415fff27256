import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { errorOfKind, namespaceTtrpcHeader } from "@berth/api";
import * as ttrpc from "@berth/api/gen/ttrpc/ttrpc";
import type { MethodDefinition, ServiceDefinition } from "@berth/api/services";
import { type Frame, FrameDecoder, encodeFrame, maxMessageLength, messageTypes } from "./frame.js";
import { errorOfTtrpcStatus } from "./status.js";

export interface TtrpcCallOptions {
  /** Sent as `containerd-namespace-ttrpc` metadata. */
  readonly namespace?: string | undefined;
  /** Sent as timeout_nano; the call fails with DeadlineExceeded locally when it passes. */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

interface Pending {
  resolve(payload: Buffer): void;
  reject(error: Error): void;
}

/**
 * A shim address as something `net.connect` dials: `unix:///path`, `unix://path` or a bare path
 * (a unix socket), `npipe://./pipe/name` or `\\.\pipe\name` (a Windows named pipe).
 */
export function socketPathOf(address: string): string {
  if (address.startsWith("unix://")) return address.slice("unix://".length);
  if (address.startsWith("npipe://")) return address.slice("npipe:".length).replace(/\//g, "\\");
  return address;
}

/**
 * One ttrpc connection. Calls take odd stream ids (1, 3, 5, …); responses may arrive in any order
 * and are matched by id. When the connection ends, every pending and later call fails with
 * Unavailable.
 */
export class TtrpcClient {
  readonly #socket: Duplex;
  readonly #pending = new Map<number, Pending>();
  #nextStreamId = 1;
  #closedError: Error | undefined;
  /** Resolves when the connection has ended, for whatever reason. */
  readonly closed: Promise<void>;

  /** A connection over any duplex stream: a unix socket, a named pipe, or an in-process pair. */
  constructor(socket: Duplex) {
    this.#socket = socket;
    const decoder = new FrameDecoder(
      (frame) => this.#receive(frame),
      (frame) =>
        this.#fail(frame.streamId, errorOfKind("ResourceExhausted", `ttrpc: response of ${frame.length} bytes exceeds the maximum of ${maxMessageLength}`)),
    );
    socket.on("data", (chunk: Buffer) => decoder.push(chunk));
    this.closed = new Promise((resolve) => {
      socket.once("close", () => {
        this.#closedError = errorOfKind("Unavailable", "ttrpc: closed");
        for (const pending of this.#pending.values()) pending.reject(this.#closedError);
        this.#pending.clear();
        resolve();
      });
    });
    socket.on("error", () => {
      // "close" follows and fails whatever is pending.
    });
  }

  /** Connects to a unix socket or a named pipe (see socketPathOf); fails with Unavailable when nothing answers. */
  static connect(address: string, timeoutMs = 10_000): Promise<TtrpcClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketPathOf(address));
      const timer = setTimeout(() => {
        socket.destroy();
        reject(errorOfKind("Unavailable", `ttrpc: dial ${address}: timed out`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(new TtrpcClient(socket));
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(errorOfKind("Unavailable", `ttrpc: dial ${address}: ${error.message}`, { cause: error }));
      });
    });
  }

  get isClosed(): boolean {
    return this.#closedError !== undefined;
  }

  /** Sends one unary request and resolves to the response payload, or rejects with the status's kind. */
  call(service: string, method: string, payload: Uint8Array, options: TtrpcCallOptions = {}): Promise<Buffer> {
    if (this.#closedError !== undefined) return Promise.reject(this.#closedError);
    if (options.signal?.aborted) return Promise.reject(errorOfKind("Canceled", "ttrpc: call canceled"));
    const metadata = Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value }));
    if (options.namespace) metadata.push({ key: namespaceTtrpcHeader, value: options.namespace });
    const request = ttrpc.Request.encode({
      service,
      method,
      payload: Buffer.from(payload),
      timeoutNano: options.timeoutMs === undefined ? 0 : Math.round(options.timeoutMs * 1e6),
      metadata,
    }).finish();
    if (request.length > maxMessageLength) {
      return Promise.reject(errorOfKind("ResourceExhausted", `ttrpc: request of ${request.length} bytes exceeds the maximum of ${maxMessageLength}`));
    }
    const streamId = this.#nextStreamId;
    this.#nextStreamId += 2;
    return new Promise<Buffer>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const abort = () => this.#fail(streamId, errorOfKind("Canceled", "ttrpc: call canceled"));
      const settle = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", abort);
        this.#pending.delete(streamId);
      };
      this.#pending.set(streamId, {
        resolve: (response) => (settle(), resolve(response)),
        reject: (error) => (settle(), reject(error)),
      });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => this.#fail(streamId, errorOfKind("DeadlineExceeded", `ttrpc: ${service}/${method} timed out`)), options.timeoutMs);
      }
      options.signal?.addEventListener("abort", abort, { once: true });
      this.#socket.write(encodeFrame(streamId, messageTypes.request, request));
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #fail(streamId: number, error: Error): void {
    this.#pending.get(streamId)?.reject(error);
  }

  #receive(frame: Frame): void {
    // ttrpc peers must ignore message types they do not know (1.2's data frames among them).
    if (frame.type !== messageTypes.response) return;
    const pending = this.#pending.get(frame.streamId);
    if (pending === undefined) return;
    let response: ttrpc.Response;
    try {
      response = ttrpc.Response.decode(frame.payload);
    } catch (error) {
      pending.reject(errorOfKind("Internal", `ttrpc: malformed response: ${(error as Error).message}`));
      return;
    }
    const failure = errorOfTtrpcStatus(response.status);
    if (failure !== undefined) pending.reject(failure);
    else pending.resolve(response.payload);
  }
}

type UnaryMethod<M> = M extends MethodDefinition<infer Req, infer Res, false, false> ? (request: Req, options?: TtrpcCallOptions) => Promise<Res> : never;

/** A typed client of a ttrpc service; every method is unary. */
export type TtrpcServiceClient<D extends ServiceDefinition> = { readonly [K in keyof D["methods"]]: UnaryMethod<D["methods"][K]> };

/**
 * A typed client for `service` over `client`. Options of a call override `defaults` (namespace,
 * timeout) field by field.
 */
export function ttrpcServiceClient<D extends ServiceDefinition>(service: D, client: TtrpcClient, defaults: TtrpcCallOptions = {}): TtrpcServiceClient<D> {
  const typed: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(service.methods)) {
    typed[key] = async (request: unknown, options: TtrpcCallOptions = {}) => {
      const payload = method.requestType.encode(request).finish();
      const response = await client.call(service.fullName, method.name, payload, { ...defaults, ...definedOnly(options) });
      return method.responseType.decode(response);
    };
  }
  return typed as TtrpcServiceClient<D>;
}

function definedOnly(options: TtrpcCallOptions): TtrpcCallOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}
