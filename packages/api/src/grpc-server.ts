// grpc-js glue for the server side: binding async handlers for the generated service definitions
// into a grpc-js server. Errors are mapped to status codes here and nowhere else on the server.
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import * as grpc from "@grpc/grpc-js";
import type { CallContext } from "./context.js";
import { BerthError, errorOfKind, grpcCodeOfKind, kindOf, kindOfGrpcCode } from "./errors.js";
import { leaseHeader, namespaceHeader } from "./metadata.js";

/** A generated message type as the wire sees it: it encodes into a writer it is given. */
export interface WireMessageType<T = unknown> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: Uint8Array): T;
}

export interface MethodDefinition<Req = any, Res = any, ReqStream extends boolean = boolean, ResStream extends boolean = boolean> {
  readonly name: string;
  readonly requestType: WireMessageType<Req>;
  readonly requestStream: ReqStream;
  readonly responseType: WireMessageType<Res>;
  readonly responseStream: ResStream;
}

export interface ServiceDefinition {
  readonly name: string;
  readonly fullName: string;
  readonly methods: { readonly [key: string]: MethodDefinition };
}

export type Handler<M> =
  M extends MethodDefinition<infer Req, infer Res, infer ReqStream, infer ResStream>
    ? ReqStream extends true
      ? (requests: AsyncIterable<Req>, context: CallContext) => AsyncIterable<Res>
      : ResStream extends true
        ? (request: Req, context: CallContext) => AsyncIterable<Res>
        : (request: Req, context: CallContext) => Promise<Res>
    : never;

export type ServiceHandlers<D extends ServiceDefinition> = { readonly [K in keyof D["methods"]]: Handler<D["methods"][K]> };

export function grpcMethodPath(service: ServiceDefinition, method: MethodDefinition): string {
  return `/${service.fullName}/${method.name}`;
}

/** Messages up to this size are encoded into one kept writer; a larger one gets its own. */
const keptWriterBytes = 2 << 20;

/**
 * The serializer of one message type. A fresh BinaryWriter grows by doubling, allocating and
 * copying a 1 MiB Content write a dozen times over; the kept one has grown once. Encoding is
 * synchronous, so one writer per type is never shared by two messages at once.
 */
export function serializerOf(type: WireMessageType): (message: unknown) => Buffer {
  let writer = new BinaryWriter();
  return (message) => {
    let bytes: Uint8Array;
    try {
      // finish() returns a copy and resets the writer, keeping its buffer for the next message.
      bytes = type.encode(message, writer).finish();
    } catch (error) {
      writer = new BinaryWriter(); // an encode that threw left its half-written bytes behind
      throw error;
    }
    if (bytes.byteLength > keptWriterBytes) writer = new BinaryWriter();
    // Buffer.from(Uint8Array) would copy the bytes once more.
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Streamed messages up to this size are kept for other streams sending the same message object. */
const sharedMessageBytes = 16 << 10;

/**
 * A serializer that encodes a message object once however many streams send it: an event the
 * exchange fans out to ten subscribers is one envelope object, encoded for the first and reused
 * for the others. Keyed weakly, so the bytes go when the message does; a large message (a
 * Content read's chunk) is never shared, so that no chunk waits in the table for a full GC.
 */
function sharedSerializerOf(type: WireMessageType): (message: unknown) => Buffer {
  const serialize = serializerOf(type);
  const encoded = new WeakMap<object, Buffer>();
  return (message) => {
    if (typeof message !== "object" || message === null) return serialize(message);
    let bytes = encoded.get(message);
    if (bytes === undefined) {
      bytes = serialize(message);
      if (bytes.byteLength <= sharedMessageBytes) encoded.set(message, bytes);
    }
    return bytes;
  };
}

export function grpcServiceDefinition(service: ServiceDefinition): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [key, method] of Object.entries(service.methods)) {
    definition[key] = {
      path: grpcMethodPath(service, method),
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      requestSerialize: serializerOf(method.requestType),
      requestDeserialize: (bytes: Buffer) => method.requestType.decode(bytes),
      responseSerialize: method.responseStream ? sharedSerializerOf(method.responseType) : serializerOf(method.responseType),
      responseDeserialize: (bytes: Buffer) => method.responseType.decode(bytes),
      originalName: method.name,
    };
  }
  return definition;
}

/** The error a grpc-js handler reports for a thrown value: its kind's code and its message. */
export function statusOfError(error: unknown): grpc.StatusObject {
  const kind = kindOf(error);
  // Messages end in the kind's errdefs text, as containerd's wrapped Go errors do.
  const details = errorOfKind(kind, error instanceof Error ? error.message : String(error)).message;
  return { code: grpcCodeOfKind(kind) as grpc.status, details, metadata: new grpc.Metadata() };
}

/** The BerthError for a failed client call, kind from its status code, message as the server sent it. */
export function errorOfStatus(error: unknown): BerthError {
  const status = error as Partial<grpc.ServiceError>;
  if (typeof status.code !== "number") return new BerthError("Unknown", String(error));
  const kind = kindOfGrpcCode(status.code);
  const message = status.details ?? status.message ?? "";
  // containerd's client (errdefs.FromGRPC) ends an Unknown status in ": unknown", as ctr prints it.
  if (kind === "Unknown") return new BerthError(kind, message.endsWith(": unknown") ? message : `${message}: unknown`, { cause: error });
  return errorOfKind(kind, message, { cause: error });
}

function firstValue(metadata: grpc.Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return value === undefined ? undefined : value.toString();
}

/**
 * Watches one method's calls for metrics and request logs. For each call: `started` once;
 * `received` per request message (once for a unary or server-streaming call, per message a client
 * streams); `sent` per response message (once for a unary call that succeeds, per message
 * streamed); `finished` once with the status code and the seconds the call took. The optional
 * hooks match what go-grpc-prometheus counts on containerd's server.
 */
export interface MethodObserver {
  started?(): void;
  received?(): void;
  sent?(): void;
  finished(code: number, seconds: number): void;
}

/**
 * Watches calls. `forMethod` is asked once per served method, when the service is bound, so that a
 * call costs its observer no lookup. `service` is the full name ("containerd.services.tasks.v1.Tasks"),
 * `method` the method's name.
 */
export interface CallObserver {
  forMethod(service: string, method: string): MethodObserver;
}

/**
 * A call's context, its signal aborted when the client cancels. `settled` says the call has
 * answered: grpc-js reports even a finished call as cancelled once its stream closes, and aborting
 * then (an AbortError with its stack, and the abort listeners) cost every unary call ~25 µs. The
 * signal is made when a handler first asks for it: most unary handlers never do, and its
 * AbortController and the listener on the call were about a tenth of the daemon's own time per call.
 */
function contextOf(call: {
  readonly metadata: grpc.Metadata;
  readonly cancelled: boolean;
  on(event: "cancelled", listener: () => void): unknown;
  off(event: "cancelled", listener: () => void): unknown;
}): {
  context: CallContext;
  settled: () => void;
} {
  let controller: AbortController | undefined;
  let answered = false;
  const abort = () => controller?.abort();
  const context: CallContext = {
    namespace: firstValue(call.metadata, namespaceHeader),
    lease: firstValue(call.metadata, leaseHeader),
    get signal() {
      if (controller === undefined) {
        controller = new AbortController();
        if (!answered) {
          if (call.cancelled) controller.abort();
          else call.on("cancelled", abort);
        }
      }
      return controller.signal;
    },
  };
  const settled = () => {
    if (answered) return;
    answered = true;
    if (controller !== undefined) call.off("cancelled", abort);
  };
  return { context, settled };
}

/**
 * The requests of a bidirectional call. A handler that stops reading early (to fail the call)
 * must not destroy the stream, or its status never reaches the client.
 */
function requestsOf<Req>(call: grpc.ServerDuplexStream<Req, unknown>, received: () => void): AsyncIterable<Req> {
  return {
    async *[Symbol.asyncIterator]() {
      for await (const request of call.iterator({ destroyOnReturn: false })) {
        received();
        yield request as Req;
      }
    },
  };
}

/**
 * A grpc-js implementation of `service` that runs `handlers` and maps whatever they throw to a
 * status code through the error-kind table.
 */
export function grpcImplementation<D extends ServiceDefinition>(
  service: D,
  handlers: ServiceHandlers<D>,
  observer?: CallObserver,
): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(service.methods)) {
    const handler = (handlers as Record<string, (...args: any[]) => any>)[key];
    if (handler === undefined) throw new Error(`no handler for ${service.fullName}/${method.name}`);
    const watch = callWatch(observer?.forMethod(service.fullName, method.name));

    if (!method.requestStream && !method.responseStream) {
      implementation[key] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const started = watch.start();
        watch.received();
        const { context, settled } = contextOf(call);
        let response: Promise<unknown>;
        try {
          response = Promise.resolve(handler(call.request, context));
        } catch (error) {
          response = Promise.reject(error);
        }
        response.then(
          (message) => {
            settled();
            watch.sent();
            watch.finish(0, started);
            callback(null, message);
          },
          (error) => {
            settled();
            const status = statusOfError(error);
            watch.finish(status.code, started);
            callback(status, null);
          },
        );
      };
    } else if (!method.requestStream) {
      implementation[key] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        const started = watch.start();
        watch.received();
        stream(call, (context) => handler(call.request, context), watch, started);
      };
    } else {
      implementation[key] = (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        const started = watch.start();
        stream(call, (context) => handler(requestsOf(call, watch.received), context), watch, started);
      };
    }
  }
  return implementation;
}

/** A method's observer as the call paths use it: no-ops (and no clock reads) without one. */
interface CallWatch {
  /** Tells `started`; returns the call's start time for `finish`. */
  start(): number;
  received(): void;
  sent(): void;
  finish(code: number, startedAt: number): void;
}

const unwatched: CallWatch = { start: () => 0, received: () => {}, sent: () => {}, finish: () => {} };

function callWatch(observer: MethodObserver | undefined): CallWatch {
  if (observer === undefined) return unwatched;
  const noop = () => {};
  return {
    start() {
      observer.started?.();
      return performance.now();
    },
    received: observer.received?.bind(observer) ?? noop,
    sent: observer.sent?.bind(observer) ?? noop,
    finish: (code, startedAt) => observer.finished(code, (performance.now() - startedAt) / 1000),
  };
}

/**
 * Runs a streaming handler. Headers go out as soon as the handler has accepted the call, so a
 * client can tell when, for example, its event subscription is in place.
 */
function stream(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  start: (context: CallContext) => AsyncIterable<unknown>,
  watch: CallWatch,
  startedAt: number,
): void {
  const { context, settled } = contextOf(call);
  let responses: AsyncIterable<unknown>;
  try {
    responses = start(context);
  } catch (error) {
    settled();
    const status = statusOfError(error);
    watch.finish(status.code, startedAt);
    call.emit("error", status);
    return;
  }
  call.sendMetadata(new grpc.Metadata());
  batchWrites(call);
  void pump(responses, call, context.signal!, watch.sent).then((status) => {
    settled();
    // A stream the client went away from ends OK, as containerd's handlers do.
    watch.finish(status?.code ?? grpc.status.OK, startedAt);
    if (status !== undefined) call.emit("error", status);
    else call.end();
  });
}

/** What grpc-js's response streams write each message through (not in its typings). */
interface MessageSink {
  sendMessage(message: unknown, callback: () => void): void;
}

const noop = () => {};

/**
 * grpc-js's response stream has no `_writev`: it gives its HTTP/2 stream one message, waits until
 * that has gone out to the socket, then gives the next, so a subscriber that has fallen behind by
 * ten events takes ten turns of the event loop to catch up. With one, the messages waiting are handed
 * over together and go out in one write; each is still one gRPC message, encoded as before.
 */
function batchWrites(call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>): void {
  const sink = (call as unknown as { call?: MessageSink }).call;
  if (typeof sink?.sendMessage !== "function") return;
  (call as unknown as { _writev(chunks: readonly { chunk: unknown }[], callback: () => void): void })._writev = (chunks, callback) => {
    const last = chunks.length - 1;
    chunks.forEach(({ chunk }, index) => sink.sendMessage(chunk, index === last ? callback : noop));
  };
}

/**
 * Writes responses with backpressure; resolves to an error status, or undefined when done. One
 * listener each for 'drain' and the abort serves every wait: adding and removing them per wait was
 * a fifth of an event subscription's own cost.
 */
async function pump(
  responses: AsyncIterable<unknown>,
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  signal: AbortSignal,
  sent: () => void,
): Promise<grpc.StatusObject | undefined> {
  let waiting: (() => void) | undefined;
  const resume = () => {
    const resolve = waiting;
    waiting = undefined;
    resolve?.();
  };
  call.on("drain", resume);
  signal.addEventListener("abort", resume);
  try {
    for await (const response of responses) {
      if (signal.aborted) return undefined;
      const flowing = call.write(response);
      sent();
      if (!flowing) await new Promise<void>((resolve) => (waiting = resolve));
    }
    return undefined;
  } catch (error) {
    return statusOfError(error);
  } finally {
    call.off("drain", resume);
    signal.removeEventListener("abort", resume);
  }
}
