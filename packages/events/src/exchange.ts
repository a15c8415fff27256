import {
  type CallContext,
  type Envelope,
  type EventStream,
  type Forwarder,
  type Publisher,
  type Subscriber,
  type Any,
  type TypeRegistry,
  invalidArgument,
  isZeroTime,
  knownTypes,
  nowTimestamp,
  requireNamespace,
  unavailable,
  validateIdentifier,
  validateTopic,
} from "@berth/api";
import { type Filter, parseFilters } from "@berth/filters";
import { envelopeAdaptor } from "./envelope-fields.js";

export interface ExchangeLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface ExchangeOptions {
  /** Envelopes a subscriber may fall behind by before it is dropped. Default 1024. */
  readonly bufferSize?: number;
  /** Decodes events for `event.<field>` filters. Default: every type containerd publishes. */
  readonly types?: TypeRegistry;
  readonly logger?: ExchangeLogger;
}

export interface ExchangeStats {
  readonly subscribers: number;
  /** Envelopes waiting in all subscribers' buffers. */
  readonly queued: number;
  readonly published: number;
  /** Subscribers dropped for falling behind, since the exchange began. */
  readonly dropped: number;
}

/** A subscriber's bounded queue; the publisher side never waits on it. */
class Subscription {
  readonly #queue: Envelope[] = [];
  #wake: (() => void) | undefined;
  #failure: Error | undefined;
  #closed = false;

  constructor(
    readonly filter: Filter,
    readonly capacity: number,
  ) {}

  get queued(): number {
    return this.#queue.length;
  }

  /** False when the queue is full: the caller then drops this subscriber. */
  offer(envelope: Envelope): boolean {
    if (this.#queue.length >= this.capacity) return false;
    this.#queue.push(envelope);
    this.#notify();
    return true;
  }

  fail(error: Error): void {
    this.#failure = error;
    this.#queue.length = 0;
    this.#notify();
  }

  close(): void {
    this.#closed = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async *drain(): AsyncGenerator<Envelope> {
    for (;;) {
      if (this.#failure !== undefined) throw this.#failure;
      const next = this.#queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

/**
 * The in-process event exchange: the daemon's Publisher, Forwarder and Subscriber. Delivery to
 * each subscriber is in publish order; a slow subscriber is dropped (its stream fails with
 * Unavailable) rather than buffering without bound or slowing anyone else.
 */
export class Exchange implements Publisher, Forwarder, Subscriber {
  readonly #subscriptions = new Set<Subscription>();
  readonly #bufferSize: number;
  readonly #types: TypeRegistry;
  readonly #logger: ExchangeLogger | undefined;
  #published = 0;
  #dropped = 0;

  constructor(options: ExchangeOptions = {}) {
    this.#bufferSize = options.bufferSize ?? 1024;
    this.#types = options.types ?? knownTypes();
    this.#logger = options.logger;
  }

  async publish(context: CallContext, topic: string, event: Any): Promise<void> {
    const namespace = requireNamespace(context);
    validateTopic(topic);
    this.#broadcast({ timestamp: nowTimestamp(), namespace, topic, event });
  }

  async forward(_context: CallContext, envelope: Envelope): Promise<void> {
    validateIdentifier(envelope.namespace, "envelope namespace");
    validateTopic(envelope.topic);
    if (isZeroTime(envelope.timestamp)) throw invalidArgument("envelope timestamp must be set");
    this.#broadcast(envelope);
  }

  /** Filters are parsed here, so a malformed one fails the call (InvalidArgument) before any event. */
  subscribe(filters: readonly string[], signal?: AbortSignal): EventStream {
    const subscription = new Subscription(parseFilters(filters), this.#bufferSize);
    this.#subscriptions.add(subscription);
    const stop = () => {
      this.#subscriptions.delete(subscription);
      subscription.close();
    };
    if (signal?.aborted) stop();
    signal?.addEventListener("abort", stop, { once: true });
    const subscriptions = this.#subscriptions;
    return {
      ready: Promise.resolve(),
      async *[Symbol.asyncIterator]() {
        try {
          yield* subscription.drain();
        } finally {
          subscriptions.delete(subscription);
          signal?.removeEventListener("abort", stop);
        }
      },
    };
  }

  stats(): ExchangeStats {
    let queued = 0;
    for (const subscription of this.#subscriptions) queued += subscription.queued;
    return { subscribers: this.#subscriptions.size, queued, published: this.#published, dropped: this.#dropped };
  }

  /** Ends every subscription's stream normally, as on daemon shutdown. */
  close(): void {
    for (const subscription of this.#subscriptions) subscription.close();
    this.#subscriptions.clear();
  }

  #broadcast(envelope: Envelope): void {
    this.#published++;
    const adaptor = envelopeAdaptor(envelope, this.#types);
    for (const subscription of this.#subscriptions) {
      if (!subscription.filter.match(adaptor)) continue;
      if (!subscription.offer(envelope)) {
        this.#subscriptions.delete(subscription);
        this.#dropped++;
        this.#logger?.warn({ buffer: this.#bufferSize }, "dropping event subscriber that fell behind");
        subscription.fail(unavailable(`event subscriber fell more than ${this.#bufferSize} events behind and was dropped`));
      }
    }
  }
}
