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
  nowTimestamp,
  requireNamespace,
  unavailable,
  validateIdentifier,
  validateTopic,
} from "@berth/api";
import { knownTypes } from "@berth/api/known-types";
import { parseFilters } from "@berth/filters";
import { envelopeAdaptor } from "./envelope-fields.js";
import { Subscription, envelopeBytes } from "./subscription.js";

export interface ExchangeLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface ExchangeOptions {
  /**
   * Bytes (envelopes' encoded size) a subscriber's queue may hold before it may be dropped.
   * Default 64 MiB.
   */
  readonly maxQueuedBytes?: number;
  /**
   * A subscriber over `maxQueuedBytes` is dropped once it has taken no event for this long
   * while events waited; one that keeps taking events is never dropped. Default 30 s.
   */
  readonly stallTimeoutMs?: number;
  /** Decodes events for `event.<field>` filters. Default: every type containerd publishes. */
  readonly types?: TypeRegistry;
  readonly logger?: ExchangeLogger;
}

export interface ExchangeStats {
  readonly subscribers: number;
  /** Envelopes waiting in all subscribers' queues. */
  readonly queued: number;
  /** Their size, as `maxQueuedBytes` counts it. */
  readonly queuedBytes: number;
  readonly published: number;
  /** Subscribers dropped for having stopped reading, since the exchange began. */
  readonly dropped: number;
}

const defaultMaxQueuedBytes = 64 << 20;
const defaultStallTimeoutMs = 30_000;

/**
 * The in-process event exchange: the daemon's Publisher, Forwarder and Subscriber. Delivery to
 * each subscriber is in publish order and publishers never wait for subscribers. As containerd's,
 * it queues for a subscriber that reads slowly, however far behind; only one that has stopped
 * reading — over `maxQueuedBytes` and taking nothing for `stallTimeoutMs` — is dropped (its stream
 * fails with Unavailable), so that it cannot hold memory without bound.
 */
export class Exchange implements Publisher, Forwarder, Subscriber {
  readonly #subscriptions = new Set<Subscription>();
  readonly #maxQueuedBytes: number;
  readonly #stallTimeoutMs: number;
  readonly #types: TypeRegistry;
  readonly #logger: ExchangeLogger | undefined;
  #subscribed = 0;
  #published = 0;
  #dropped = 0;

  constructor(options: ExchangeOptions = {}) {
    this.#maxQueuedBytes = options.maxQueuedBytes ?? defaultMaxQueuedBytes;
    this.#stallTimeoutMs = options.stallTimeoutMs ?? defaultStallTimeoutMs;
    if (!Number.isSafeInteger(this.#maxQueuedBytes) || this.#maxQueuedBytes < 0) {
      throw invalidArgument(`maxQueuedBytes: must be a non-negative integer, not ${this.#maxQueuedBytes}`);
    }
    if (!Number.isFinite(this.#stallTimeoutMs) || this.#stallTimeoutMs < 0) {
      throw invalidArgument(`stallTimeoutMs: must be a non-negative number, not ${this.#stallTimeoutMs}`);
    }
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
    const subscription = new Subscription(++this.#subscribed, [...filters], parseFilters(filters));
    this.#subscriptions.add(subscription);
    const stop = () => {
      this.#subscriptions.delete(subscription);
      subscription.close();
    };
    if (signal?.aborted) stop();
    signal?.addEventListener("abort", stop, { once: true });
    // The subscription's own generator is the stream (a wrapping one cost each event a few more
    // promises per subscriber); it ends the subscription however the reading stops.
    const ended = () => {
      this.#subscriptions.delete(subscription);
      subscription.close();
      signal?.removeEventListener("abort", stop);
    };
    return { ready: Promise.resolve(), [Symbol.asyncIterator]: () => subscription.drain(ended) };
  }

  stats(): ExchangeStats {
    let queued = 0;
    let queuedBytes = 0;
    for (const subscription of this.#subscriptions) {
      queued += subscription.queuedEvents;
      queuedBytes += subscription.queuedBytes;
    }
    return { subscribers: this.#subscriptions.size, queued, queuedBytes, published: this.#published, dropped: this.#dropped };
  }

  /** Ends every subscription's stream normally, as on daemon shutdown. */
  close(): void {
    for (const subscription of this.#subscriptions) subscription.close();
    this.#subscriptions.clear();
  }

  #broadcast(envelope: Envelope): void {
    this.#published++;
    const adaptor = envelopeAdaptor(envelope, this.#types);
    const bytes = envelopeBytes(envelope);
    const now = performance.now();
    for (const subscription of this.#subscriptions) {
      if (!subscription.filter.match(adaptor)) continue;
      subscription.offer(envelope, bytes, now);
      if (subscription.queuedBytes > this.#maxQueuedBytes) this.#enforceBound(subscription, now);
    }
  }

  /** Drops `subscription` if it is over the bound and stalled; else looks again when it could be. */
  #enforceBound(subscription: Subscription, now: number): void {
    if (!this.#subscriptions.has(subscription) || subscription.queuedBytes <= this.#maxQueuedBytes) return;
    const stalledMs = subscription.stalledFor(now);
    if (stalledMs < this.#stallTimeoutMs) {
      subscription.recheckIn(this.#stallTimeoutMs - stalledMs, () => this.#enforceBound(subscription, performance.now()));
      return;
    }
    this.#subscriptions.delete(subscription);
    this.#dropped++;
    const report = subscription.report(now);
    this.#logger?.warn(
      { ...report, reason: "stopped_reading", maxQueuedBytes: this.#maxQueuedBytes, stallTimeoutMs: this.#stallTimeoutMs },
      "dropping event subscriber that stopped reading",
    );
    subscription.fail(
      unavailable(
        `event subscriber ${report.subscriber} stopped reading (${report.queuedBytes} bytes queued, none taken for ${report.stalledMs} ms) and was dropped`,
      ),
    );
  }
}
