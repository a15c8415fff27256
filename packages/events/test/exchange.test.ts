import { type Envelope, kindOfFailure } from "@berth/api";
import { knownTypes } from "@berth/api/known-types";
import { Exchange } from "@berth/events";
import { describeEventsConformance } from "@berth/events/testsuite";
import { describe, expect, it } from "vitest";

describeEventsConformance("in-process exchange", async () => {
  const exchange = new Exchange();
  return { publisher: exchange, forwarder: exchange, subscriber: exchange, close: async () => exchange.close() };
});

describe("exchange", () => {
  const types = knownTypes();

  const publishPids = async (exchange: Exchange, from: number, to: number) => {
    for (let pid = from; pid <= to; pid++) {
      await exchange.publish({ namespace: "ns" }, "/tasks/start", types.pack("containerd.events.TaskStart", { containerId: "c", pid }));
    }
  };
  const pidOf = (envelope: Envelope) => types.unpack<{ pid: number }>(envelope.event!).pid;
  const waitFor = async (what: string, condition: () => boolean) => {
    for (const deadline = Date.now() + 10_000; !condition(); await new Promise((resolve) => setTimeout(resolve, 10))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    }
  };
  const oneTo = (count: number) => Array.from({ length: count }, (_, i) => i + 1);

  it("queues for a slow reader far beyond the byte bound, and delivers everything in order", async () => {
    const exchange = new Exchange({ maxQueuedBytes: 1024, stallTimeoutMs: 60_000 });
    const slow = exchange.subscribe([]);
    const iterator = slow[Symbol.asyncIterator]();
    await publishPids(exchange, 1, 5000);
    expect(exchange.stats()).toMatchObject({ subscribers: 1, queued: 5000, dropped: 0 });
    expect(exchange.stats().queuedBytes).toBeGreaterThan(100 * 1024);
    const received: number[] = [];
    while (received.length < 5000) received.push(pidOf((await iterator.next()).value as Envelope));
    expect(received).toEqual(oneTo(5000));
    expect(exchange.stats()).toMatchObject({ queued: 0, queuedBytes: 0, dropped: 0 });
  });

  it("drops a subscriber that stopped reading once over the bound and stalled, saying which and why", async () => {
    const warnings: { fields: Record<string, unknown>; message: string }[] = [];
    const exchange = new Exchange({ maxQueuedBytes: 1024, stallTimeoutMs: 50, logger: { warn: (fields, message) => warnings.push({ fields, message }) } });
    const stalled = exchange.subscribe(["namespace==ns"]);
    const reader = exchange.subscribe([]);
    const readerReceived: number[] = [];
    const readerDone = (async () => {
      for await (const envelope of reader) if (readerReceived.push(pidOf(envelope)) === 200) return;
    })();
    // No more publishes after these: the drop must come from the stall alone.
    await publishPids(exchange, 1, 200);
    await readerDone;
    expect(readerReceived).toEqual(oneTo(200));
    await waitFor("the stalled subscriber to be dropped", () => exchange.stats().dropped === 1);
    expect(exchange.stats()).toMatchObject({ queued: 0, queuedBytes: 0 });
    expect(
      await kindOfFailure(async () => {
        for await (const _ of stalled);
      }),
    ).toBe("Unavailable");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toBe("dropping event subscriber that stopped reading");
    expect(warnings[0]!.fields).toMatchObject({
      subscriber: 1,
      filters: ["namespace==ns"],
      queuedEvents: 200,
      lastReadAt: null,
      reason: "stopped_reading",
      maxQueuedBytes: 1024,
    });
    expect(warnings[0]!.fields.queuedBytes).toBeGreaterThan(1024);
    expect(warnings[0]!.fields.stalledMs).toBeGreaterThanOrEqual(50);
  });

  it("starts a stall when events begin to wait, not when the subscriber last read", async () => {
    const exchange = new Exchange({ maxQueuedBytes: 1024, stallTimeoutMs: 1000 });
    const idle = exchange.subscribe([]);
    const iterator = idle[Symbol.asyncIterator]();
    await publishPids(exchange, 1, 1);
    expect(pidOf((await iterator.next()).value as Envelope)).toBe(1);
    // Longer than the stall timeout with nothing to read, then a burst over the bound.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await publishPids(exchange, 2, 2001);
    expect(exchange.stats()).toMatchObject({ subscribers: 1, dropped: 0 });
    const received: number[] = [];
    while (received.length < 2000) received.push(pidOf((await iterator.next()).value as Envelope));
    expect(received).toEqual(oneTo(2001).slice(1));
  });

  it("refuses a negative or fractional bound", async () => {
    for (const options of [{ maxQueuedBytes: -1 }, { maxQueuedBytes: 1.5 }, { stallTimeoutMs: -1 }]) {
      expect(await kindOfFailure(async () => new Exchange(options))).toBe("InvalidArgument");
    }
  });

  it("parses filters when subscribing, so a malformed one throws at once", () => {
    const exchange = new Exchange();
    expect(() => exchange.subscribe(["name=foo"])).toThrow();
    expect(exchange.stats().subscribers).toBe(0);
  });
});
