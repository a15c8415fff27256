import { type Envelope, kindOf } from "@berth/api";
import { knownTypes } from "@berth/api/known-types";
import { Client } from "@berth/client";
import { type RunningDaemon, freePort, promSamples, scrapeProm, startBerthd, waitUntil } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const types = knownTypes();
const maxQueuedBytes = 16 << 10;

/** berthd with metrics on, and each subscriber's queue bounded at 16 KiB. */
async function startWithBound(stallTimeoutMs: number): Promise<{ berthd: RunningDaemon; metrics: string }> {
  const port = await freePort();
  const config = `version = 2
[metrics]
  address = "127.0.0.1:${port}"
[plugins."io.containerd.event.v1.exchange"]
  subscriber_max_queued_bytes = ${maxQueuedBytes}
  subscriber_stall_timeout_ms = ${stallTimeoutMs}
`;
  return { berthd: await startBerthd({ config }), metrics: `http://127.0.0.1:${port}/v1/metrics` };
}

async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return promSamples((await scrapeProm(url)).samples, name, labels)[0]?.value;
}

/** Publishes TaskStart events numbered from..to into `namespace`, one after another. */
async function publishPids(client: Client, namespace: string, from: number, to: number): Promise<void> {
  for (let pid = from; pid <= to; pid++) {
    await client.events.publish({ namespace }, "/tasks/start", types.pack("containerd.events.TaskStart", { containerId: "c", pid }));
  }
}

const pidOf = (envelope: Envelope) => types.unpack<{ pid: number }>(envelope.event!).pid;
const oneTo = (count: number) => Array.from({ length: count }, (_, i) => i + 1);

/** Reads pids until `count` arrived, or the stream ended; rejects with the stream's failure. */
async function readPids(events: AsyncIterator<Envelope>, count: number, received: number[] = []): Promise<number[]> {
  while (received.length < count) {
    const next = await events.next();
    if (next.done) break;
    received.push(pidOf(next.value));
  }
  return received;
}

/**
 * Subscribes and reads a first event (pid 0). Until the application first reads, grpc-js takes
 * in every message the server sends; only once reading has begun does it apply flow control.
 */
async function subscribeAndStartReading(subscriber: Client, publisher: Client, namespace: string, signal: AbortSignal): Promise<AsyncIterator<Envelope>> {
  const stream = subscriber.events.subscribe([`namespace==${namespace}`], signal);
  await stream.ready;
  const events = stream[Symbol.asyncIterator]();
  const first = readPids(events, 1);
  await publishPids(publisher, namespace, 0, 0);
  expect(await first).toEqual([0]);
  return events;
}

describe("a subscriber that reads slowly", () => {
  let berthd: RunningDaemon;
  let metrics: string;
  beforeAll(async () => {
    ({ berthd, metrics } = await startWithBound(10 * 60_000));
  });
  afterAll(async () => {
    await berthd?.cleanup();
  });

  it("gets every event of a burst in order, though the burst queued for it is far beyond the byte bound", async () => {
    const subscriber = await Client.connect({ address: berthd.address });
    const publisher = await Client.connect({ address: berthd.address });
    const abort = new AbortController();
    try {
      const events = await subscribeAndStartReading(subscriber, publisher, "burst", abort.signal);
      // Not reading while 5,000 events are published: HTTP/2 flow control holds them back in berthd.
      await publishPids(publisher, "burst", 1, 5000);
      expect(await metric(metrics, "berth_events_queued_bytes")).toBeGreaterThan(4 * maxQueuedBytes);
      expect(await readPids(events, 5000)).toEqual(oneTo(5000));
      expect(await metric(metrics, "berth_events_dropped_subscribers_total", { reason: "stopped_reading" })).toBe(0);
      expect(await metric(metrics, "berth_events_queued_bytes")).toBe(0);
    } finally {
      abort.abort();
      subscriber.close();
      publisher.close();
    }
  });
});

describe("a subscriber that stops reading", () => {
  let berthd: RunningDaemon;
  let metrics: string;
  beforeAll(async () => {
    ({ berthd, metrics } = await startWithBound(300));
  });
  afterAll(async () => {
    await berthd?.cleanup();
  });

  it("is dropped once over the byte bound and stalled, saying which and why, and nobody else notices", async () => {
    // Separate connections, as separate clients would have.
    const connect = () => Client.connect({ address: berthd.address });
    const [stalledClient, readerClient, publisher] = await Promise.all([connect(), connect(), connect()]);
    // berthd's own plugins (the CRI's exit monitor) subscribe too.
    const ownSubscribers = (await metric(metrics, "berth_events_subscribers")) ?? 0;
    const abort = new AbortController();
    try {
      const stalled = await subscribeAndStartReading(stalledClient, publisher, "stall", abort.signal);
      const readerStream = readerClient.events.subscribe(["namespace==stall"], abort.signal);
      await readerStream.ready;
      const readerReceived: number[] = [];
      const readerDone = readPids(readerStream[Symbol.asyncIterator](), 4001, readerReceived);
      readerDone.catch(() => undefined); // awaited below; a failure before then is the test's own

      await publishPids(publisher, "stall", 1, 4000);
      await waitUntil(
        "the stalled subscriber to be dropped",
        async () => (await metric(metrics, "berth_events_dropped_subscribers_total", { reason: "stopped_reading" })) === 1,
      );
      await waitUntil("the reader to catch up", async () => readerReceived.length === 4000);
      expect(readerReceived).toEqual(oneTo(4000));
      // The dropped subscriber's queue is let go although its client is still connected.
      expect(await metric(metrics, "berth_events_queued_bytes")).toBe(0);
      expect(await metric(metrics, "berth_events_subscribers")).toBe(ownSubscribers + 1);

      const drops = berthd
        .logs()
        .split("\n")
        .filter((line) => line.includes('"dropping event subscriber that stopped reading"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(drops).toHaveLength(1);
      expect(drops[0]).toMatchObject({ level: "warn", reason: "stopped_reading", filters: ["namespace==stall"], maxQueuedBytes, stallTimeoutMs: 300 });
      expect(drops[0]!.queuedBytes).toBeGreaterThan(maxQueuedBytes);
      expect(drops[0]!.stalledMs).toBeGreaterThanOrEqual(300);
      expect(typeof drops[0]!.subscriber).toBe("number");
      expect(Date.parse(drops[0]!.lastReadAt as string)).toBeLessThanOrEqual(Date.parse(drops[0]!.time as string) - 300);

      // Reading again, the stalled client gets what was already on its way, then Unavailable.
      const stalledReceived: number[] = [];
      let failure: unknown;
      try {
        await readPids(stalled, 4000, stalledReceived);
      } catch (error) {
        failure = error;
      }
      expect(kindOf(failure)).toBe("Unavailable");
      expect(stalledReceived.length).toBeLessThan(4000);
      expect(stalledReceived).toEqual(oneTo(stalledReceived.length));

      // The daemon and the other subscriber carry on; a new subscriber works.
      const newcomer = readerClient.events.subscribe(["namespace==stall"], abort.signal);
      await newcomer.ready;
      await publishPids(publisher, "stall", 4001, 4001);
      expect(await readPids(newcomer[Symbol.asyncIterator](), 1)).toEqual([4001]);
      expect((await readerDone).at(-1)).toBe(4001);
    } finally {
      abort.abort();
      for (const client of [stalledClient, readerClient, publisher]) client.close();
    }
  });
});

describe("the exchange's bound in the config", () => {
  it("must be a non-negative integer: the exchange fails to load, naming the key", async () => {
    const berthd = await startBerthd({ config: `version = 2\n[plugins."io.containerd.event.v1.exchange"]\n  subscriber_stall_timeout_ms = -1\n` });
    try {
      const failures = () =>
        berthd
          .logs()
          .split("\n")
          .filter((line) => line.includes('"failed to load plugin"') && line.includes('"plugin":"io.containerd.event.v1.exchange"'))
          .map((line) => JSON.parse(line) as { err: { kind: string; message: string } });
      await waitUntil("the exchange's failure in the log", async () => failures().length > 0);
      const failure = failures();
      expect(failure).toHaveLength(1);
      expect(failure[0]!.err.kind).toBe("InvalidArgument");
      expect(failure[0]!.err.message).toContain('plugins."io.containerd.event.v1.exchange".subscriber_stall_timeout_ms');
    } finally {
      await berthd.cleanup();
    }
  });
});
