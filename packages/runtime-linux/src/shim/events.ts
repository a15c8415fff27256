import { type Any, type Timestamp, nowTimestamp } from "@berth/api";

/** One event as containerd's Events/Forward takes it. */
export interface ForwardedEvent {
  readonly timestamp: Timestamp;
  readonly namespace: string;
  readonly topic: string;
  readonly event: Any;
}

/** Sends one event to the daemon (ttrpc `containerd.services.events.ttrpc.v1.Events/Forward`). */
export type Forward = (event: ForwardedEvent) => Promise<void>;

const maxAttempts = 5;
const retryDelayMs = 200;

/**
 * The shim's outgoing events, delivered one at a time and in order (an exit never overtakes
 * the start it follows). A failed delivery is retried up to five times, with a growing pause,
 * then dropped, as containerd's shim publisher does.
 */
export class EventQueue {
  readonly #queue: ForwardedEvent[] = [];
  #running: Promise<void> | undefined;

  constructor(
    private readonly namespace: string,
    private readonly forward: Forward,
    private readonly onDropped: (event: ForwardedEvent, error: unknown) => void = () => undefined,
  ) {}

  publish(topic: string, event: Any): void {
    this.#queue.push({ timestamp: nowTimestamp(), namespace: this.namespace, topic, event });
    this.#running ??= this.#drain().finally(() => (this.#running = undefined));
  }

  /** Resolves once everything published so far was delivered or dropped. */
  async flushed(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    for (let event = this.#queue.shift(); event !== undefined; event = this.#queue.shift()) {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.forward(event);
          break;
        } catch (error) {
          if (attempt >= maxAttempts) {
            this.onDropped(event, error);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, retryDelayMs * attempt));
        }
      }
    }
  }
}
