import type { Subscriber } from "@berth/api";
import { events } from "@berth/api/proto";
import type { RuntimeLogger } from "@berth/runtime";

/**
 * Which init exits the v1 shims have reported (`/tasks/exit` through `<daemon> publish`, one
 * process per event, so it lags). A delete waits, bounded, for the task's exit before it publishes
 * `/tasks/delete`, so that subscribers see exit before delete, as they do with containerd.
 */
export class ExitWatch {
  readonly #seen = new Set<string>();
  readonly #waiters = new Map<string, () => void>();
  readonly #abort = new AbortController();
  #following = false;

  constructor(
    private readonly subscriber: Subscriber,
    private readonly logger?: RuntimeLogger,
  ) {}

  /** Starts following exits (once): only a daemon that has v1 tasks holds a subscription for them. */
  follow(): void {
    if (this.#following) return;
    this.#following = true;
    void this.#follow(this.subscriber, this.logger);
  }

  async #follow(subscriber: Subscriber, logger: RuntimeLogger | undefined): Promise<void> {
    while (!this.#abort.signal.aborted) {
      try {
        for await (const envelope of subscriber.subscribe(["topic==/tasks/exit"], this.#abort.signal)) {
          if (envelope.event === undefined) continue;
          const exit = events.TaskExit.decode(envelope.event.value);
          // The init process's exit: its id is the container's.
          if (exit.id !== exit.containerId) continue;
          const key = `${envelope.namespace}/${exit.containerId}`;
          this.#seen.add(key);
          this.#waiters.get(key)?.();
        }
      } catch (error) {
        if (!this.#abort.signal.aborted) logger?.warn({ err: error }, "following task exits; subscribing again");
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Resolves once the exit of task `id` was published, or after `timeoutMs`; forgets it either way. */
  async reported(namespace: string, id: string, timeoutMs = 2_000): Promise<void> {
    const key = `${namespace}/${id}`;
    if (!this.#seen.has(key)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#waiters.set(key, () => (clearTimeout(timer), resolve()));
      });
    }
    this.#waiters.delete(key);
    this.#seen.delete(key);
  }

  forget(namespace: string, id: string): void {
    this.#seen.delete(`${namespace}/${id}`);
  }

  close(): void {
    this.#abort.abort();
    for (const wake of this.#waiters.values()) wake();
  }
}
