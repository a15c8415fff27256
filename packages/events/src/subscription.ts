import type { Envelope } from "@berth/api";
import type { Filter } from "@berth/filters";

/** Protobuf framing of an envelope beyond its strings and event bytes: tags, lengths, the timestamp. */
const envelopeFraming = 32;

/** setTimeout fires at once when asked to wait longer than this. */
const longestTimerMs = 2 ** 31 - 1;

/** About the bytes `envelope` takes on the wire: what a subscriber's queue is bounded by. */
export function envelopeBytes(envelope: Envelope): number {
  const event = envelope.event;
  return envelopeFraming + envelope.topic.length + envelope.namespace.length + (event === undefined ? 0 : event.typeUrl.length + event.value.byteLength);
}

/** What the log says about a subscriber the exchange dropped. */
export interface SubscriptionReport {
  readonly subscriber: number;
  readonly filters: readonly string[];
  readonly subscribedAt: string;
  readonly queuedEvents: number;
  readonly queuedBytes: number;
  /** When the reader last took an event; null if it never took one. */
  readonly lastReadAt: string | null;
  /** How long events have waited without the reader taking any. */
  readonly stalledMs: number;
}

/**
 * One subscriber's queue. The publisher side never waits on it and it takes every envelope;
 * the exchange decides from `queuedBytes` and `stalledFor` when a reader has stopped reading.
 */
export class Subscription {
  readonly #queue: Envelope[] = [];
  readonly #subscribedAt = Date.now();
  #bytes = 0;
  // Times below are performance.now()'s, which no change of the wall clock moves.
  /** When the reader last took an event or, later, when its queue last became non-empty: a stall starts there. */
  #progressAt = 0;
  #lastReadAt: number | undefined;
  #recheck: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #failure: Error | undefined;
  #closed = false;

  constructor(
    readonly id: number,
    readonly filters: readonly string[],
    readonly filter: Filter,
  ) {}

  get queuedEvents(): number {
    return this.#queue.length;
  }

  get queuedBytes(): number {
    return this.#bytes;
  }

  offer(envelope: Envelope, bytes: number, now: number): void {
    if (this.#queue.length === 0) this.#progressAt = now;
    this.#queue.push(envelope);
    this.#bytes += bytes;
    this.#notify();
  }

  /** Milliseconds for which events have waited without the reader taking one; 0 while nothing waits. */
  stalledFor(now: number): number {
    return this.#queue.length === 0 ? 0 : now - this.#progressAt;
  }

  /**
   * Runs `check` in `delayMs` unless a check is already due: that one comes no later, as a
   * stall can only start later than it did when that check was set.
   */
  recheckIn(delayMs: number, check: () => void): void {
    if (this.#recheck !== undefined) return;
    this.#recheck = setTimeout(
      () => {
        this.#recheck = undefined;
        check();
      },
      Math.min(delayMs, longestTimerMs),
    );
    this.#recheck.unref();
  }

  report(now: number): SubscriptionReport {
    return {
      subscriber: this.id,
      filters: this.filters,
      subscribedAt: new Date(this.#subscribedAt).toISOString(),
      queuedEvents: this.#queue.length,
      queuedBytes: this.#bytes,
      lastReadAt: this.#lastReadAt === undefined ? null : new Date(Date.now() - (now - this.#lastReadAt)).toISOString(),
      stalledMs: Math.floor(this.stalledFor(now)),
    };
  }

  /** Ends the stream with `error` and lets go of everything queued. */
  fail(error: Error): void {
    this.#failure = error;
    this.#queue.length = 0;
    this.#bytes = 0;
    this.#stopRechecks();
    this.#notify();
  }

  close(): void {
    this.#closed = true;
    this.#stopRechecks();
    this.#notify();
  }

  #stopRechecks(): void {
    clearTimeout(this.#recheck);
    this.#recheck = undefined;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /**
   * The envelopes, in order, then `ended` however the reading stops. The gRPC adapter asks for the
   * next one only once the client's stream has room for it.
   */
  async *drain(ended?: () => void): AsyncGenerator<Envelope> {
    try {
      for (;;) {
        if (this.#failure !== undefined) throw this.#failure;
        const next = this.#queue.shift();
        if (next !== undefined) {
          this.#bytes -= envelopeBytes(next);
          this.#lastReadAt = this.#progressAt = performance.now();
          yield next;
          continue;
        }
        if (this.#closed) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      ended?.();
    }
  }
}
