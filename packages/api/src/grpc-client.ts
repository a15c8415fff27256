// grpc-js glue for the client side: typed promise/async-iterator clients of the generated service
// definitions. Status codes are mapped back to error kinds here and nowhere else on the client.
import * as grpc from "@grpc/grpc-js";
import { errorOfStatus, grpcMethodPath, serializerOf, type ServiceDefinition, type MethodDefinition } from "./grpc-server.js";
import { leaseHeader, namespaceHeader } from "./metadata.js";

export interface CallOptions {
  readonly namespace?: string | undefined;
  readonly lease?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly deadline?: Date | number | undefined;
  /** Wait for the connection to come up (until the deadline) instead of failing Unavailable at once, as Go's grpc.WaitForReady(true). */
  readonly waitForReady?: boolean | undefined;
}

export interface BidiCall<Req, Res> extends AsyncIterable<Res> {
  send(request: Req): void;
  end(): void;
  cancel(): void;
}

/** A server stream; `ready` resolves once the server has accepted the call (or it ended). */
export interface ServerStream<Res> extends AsyncIterable<Res> {
  readonly ready: Promise<void>;
  cancel(): void;
}

export type ClientMethod<M> =
  M extends MethodDefinition<infer Req, infer Res, infer ReqStream, infer ResStream>
    ? ReqStream extends true
      ? (options?: CallOptions) => BidiCall<Req, Res>
      : ResStream extends true
        ? (request: Req, options?: CallOptions) => ServerStream<Res>
        : (request: Req, options?: CallOptions) => Promise<Res>
    : never;

export type ServiceClient<D extends ServiceDefinition> = { readonly [K in keyof D["methods"]]: ClientMethod<D["methods"][K]> };

function metadataFor(options: CallOptions | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (options?.namespace) metadata.set(namespaceHeader, options.namespace);
  if (options?.lease) metadata.set(leaseHeader, options.lease);
  if (options?.waitForReady) metadata.setOptions({ waitForReady: true });
  return metadata;
}

function grpcCallOptions(options: CallOptions | undefined): grpc.CallOptions {
  return options?.deadline === undefined ? {} : { deadline: options.deadline };
}

async function* mapStreamErrors<Res>(stream: AsyncIterable<unknown>): AsyncIterable<Res> {
  try {
    for await (const message of stream) yield message as Res;
  } catch (error) {
    throw errorOfStatus(error);
  }
}

function withSignal<T extends { cancel(): void }>(call: T, signal: AbortSignal | undefined): T {
  if (signal !== undefined) {
    if (signal.aborted) call.cancel();
    else signal.addEventListener("abort", () => call.cancel(), { once: true });
  }
  return call;
}

/**
 * A typed client for `service` over `channel`: unary methods return promises, server streams
 * async iterables, bidirectional streams a `BidiCall`. Errors come back as BerthErrors. A call
 * whose options name no namespace or lease gets those of `defaults`.
 */
export function createServiceClient<D extends ServiceDefinition>(service: D, channel: grpc.Client, defaults: CallOptions = {}): ServiceClient<D> {
  const client: Record<string, unknown> = {};
  const metadataOf = (options: CallOptions | undefined) =>
    metadataFor({
      namespace: options?.namespace ?? defaults.namespace,
      lease: options?.lease ?? defaults.lease,
      waitForReady: options?.waitForReady ?? defaults.waitForReady,
    });
  for (const [key, method] of Object.entries(service.methods)) {
    const path = grpcMethodPath(service, method);
    const serialize = serializerOf(method.requestType);
    const deserialize = (bytes: Buffer) => method.responseType.decode(bytes);
    if (!method.requestStream && !method.responseStream) {
      client[key] = (request: unknown, options?: CallOptions) =>
        new Promise((resolve, reject) => {
          const call = channel.makeUnaryRequest(path, serialize, deserialize, request, metadataOf(options), grpcCallOptions(options), (error, response) =>
            error ? reject(errorOfStatus(error)) : resolve(response),
          );
          withSignal(call, options?.signal);
        });
    } else if (!method.requestStream) {
      client[key] = (request: unknown, options?: CallOptions) => {
        const call = withSignal(
          channel.makeServerStreamRequest(path, serialize, deserialize, request, metadataOf(options), grpcCallOptions(options)),
          options?.signal,
        );
        const ready = new Promise<void>((resolve) => {
          for (const event of ["metadata", "status", "error"]) call.once(event, () => resolve());
        });
        const responses = mapStreamErrors(call);
        return { ready, cancel: () => call.cancel(), [Symbol.asyncIterator]: () => responses[Symbol.asyncIterator]() };
      };
    } else {
      client[key] = (options?: CallOptions) => {
        const call = withSignal(channel.makeBidiStreamRequest(path, serialize, deserialize, metadataOf(options), grpcCallOptions(options)), options?.signal);
        const responses = mapStreamErrors(call);
        return {
          send: (request: unknown) => call.write(request),
          end: () => call.end(),
          cancel: () => call.cancel(),
          [Symbol.asyncIterator]: () => responses[Symbol.asyncIterator](),
        };
      };
    }
  }
  return client as ServiceClient<D>;
}
