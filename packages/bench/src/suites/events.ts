import { knownTypes } from "@berth/api/known-types";
import type { Client } from "@berth/client";
import { sleep, withTimeout } from "../measure.js";

export interface EventRateOptions {
  readonly events?: number;
  readonly subscribers: number;
  /** Publish calls in flight at once. */
  readonly inFlight?: number;
  /** Bound of the whole run, subscribing included. */
  readonly timeoutMs?: number;
  /**
   * Wait for each subscription's `ready`. Stock containerd sends its response headers only with
   * the first event, so for it pass false: the run then waits `settleMs` after subscribing.
   */
  readonly awaitReady: boolean;
  readonly settleMs?: number;
}

const topic = "/bench/event";
let runs = 0;

/**
 * Events delivered per second: `subscribers` unfiltered subscriptions, then `events` events
 * published in a namespace of this run only, timed from the first publish until every subscriber
 * has received all of them. Returns events × subscribers / seconds.
 */
export async function eventRate(client: Client, options: EventRateOptions): Promise<number> {
  const { events = 3000, subscribers, inFlight = 32, timeoutMs = 30_000, awaitReady, settleMs = 300 } = options;
  const namespace = `bench-events-${process.pid}-${++runs}`;
  const abort = new AbortController();
  const streams = Array.from({ length: subscribers }, () => client.events.subscribe([], abort.signal));
  let received = 0;
  const run = async () => {
    // Each subscriber counts the events of this run until it has them all.
    const delivered = streams.map(async (stream) => {
      let count = 0;
      for await (const envelope of stream) {
        if (envelope.topic === topic && envelope.namespace === namespace) {
          received++;
          if (++count === events) return;
        }
      }
      throw new Error(`a subscription ended after ${count} of ${events} events`);
    });
    // A failed subscription fails the run at once; the others are cancelled by `abort`.
    const failed = new Promise<never>((_, reject) => delivered.forEach((done) => done.catch(reject)));
    failed.catch(() => {});
    if (awaitReady) await Promise.race([Promise.all(streams.map((stream) => stream.ready)), failed]);
    else await Promise.race([sleep(settleMs), failed]);

    const event = knownTypes().pack("containerd.events.TaskStart", { containerId: "bench", pid: 1 });
    const context = { namespace, signal: abort.signal };
    const start = performance.now();
    let next = 0;
    const publisher = async () => {
      while (next < events) {
        next++;
        await client.events.publish(context, topic, event);
      }
    };
    await Promise.race([Promise.all([...Array.from({ length: inFlight }, publisher), ...delivered]), failed]);
    return performance.now() - start;
  };
  try {
    const ms = await withTimeout(
      run(),
      timeoutMs,
      () => `${subscribers} subscriber(s) receiving ${events} events (${received} of ${events * subscribers} deliveries)`,
    );
    return (events * subscribers) / (ms / 1000);
  } finally {
    abort.abort();
  }
}
