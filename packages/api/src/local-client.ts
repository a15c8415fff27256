// A ServiceClient whose calls run a service's handlers in this process: what the daemon's own
// plugins (the CRI) use to call the daemon's services through the same client code as a remote
// caller, without a socket. Requests and responses are not serialised; errors keep their kind.
import type { CallContext } from "./context.js";
import type { BidiCall, CallOptions, ServiceClient } from "./grpc-client.js";
import type { ServiceDefinition, ServiceHandlers } from "./grpc-server.js";

/** An unbounded queue read as an async iterable: the requests a caller sends on a bidirectional call. */
class RequestQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #ended = false;
  #wake?: () => void;

  push(item: T): void {
    this.#items.push(item);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.#items.length > 0) {
        yield this.#items.shift()!;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}

export function createLocalServiceClient<D extends ServiceDefinition>(service: D, handlers: ServiceHandlers<D>, defaults: CallOptions = {}): ServiceClient<D> {
  const client: Record<string, unknown> = {};
  const contextOf = (options: CallOptions | undefined, controller: AbortController): CallContext => {
    const signals = [controller.signal, ...(options?.signal ? [options.signal] : [])];
    return {
      namespace: options?.namespace ?? defaults.namespace,
      lease: options?.lease ?? defaults.lease,
      signal: AbortSignal.any(signals),
    };
  };
  for (const [key, method] of Object.entries(service.methods)) {
    const handler = (handlers as Record<string, (...args: unknown[]) => unknown>)[key]!;
    if (!method.requestStream && !method.responseStream) {
      client[key] = (request: unknown, options?: CallOptions) => Promise.resolve().then(() => handler(request, contextOf(options, new AbortController())));
    } else if (!method.requestStream) {
      client[key] = (request: unknown, options?: CallOptions) => {
        const controller = new AbortController();
        const responses = handler(request, contextOf(options, controller)) as AsyncIterable<unknown>;
        return { ready: Promise.resolve(), cancel: () => controller.abort(), [Symbol.asyncIterator]: () => responses[Symbol.asyncIterator]() };
      };
    } else {
      client[key] = (options?: CallOptions): BidiCall<unknown, unknown> => {
        const controller = new AbortController();
        const requests = new RequestQueue<unknown>();
        const responses = handler(requests, contextOf(options, controller)) as AsyncIterable<unknown>;
        return {
          send: (request) => requests.push(request),
          end: () => requests.end(),
          cancel: () => {
            controller.abort();
            requests.end();
          },
          [Symbol.asyncIterator]: () => responses[Symbol.asyncIterator](),
        };
      };
    }
  }
  return client as ServiceClient<D>;
}
