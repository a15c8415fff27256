import { kindOf, knownTypes } from "@berth/api";
import { Exchange } from "@berth/events";
import { describeEventsConformance } from "@berth/events/testsuite";
import { describe, expect, it } from "vitest";

describeEventsConformance("in-process exchange", async () => {
  const exchange = new Exchange();
  return { publisher: exchange, forwarder: exchange, subscriber: exchange, close: async () => exchange.close() };
});

describe("exchange", () => {
  const types = knownTypes();

  it("drops a subscriber that falls behind, without blocking publishers or other subscribers", async () => {
    const warnings: string[] = [];
    const exchange = new Exchange({ bufferSize: 8, logger: { warn: (_fields, message) => warnings.push(message) } });
    const slow = exchange.subscribe([]);
    const fast = exchange.subscribe([]);
    const fastReceived: number[] = [];
    const fastDone = (async () => {
      for await (const envelope of fast) {
        fastReceived.push(types.unpack<{ pid: number }>(envelope.event!).pid);
        if (fastReceived.length === 100) return;
      }
    })();
    for (let pid = 1; pid <= 100; pid++) {
      await exchange.publish({ namespace: "ns" }, "/tasks/start", types.pack("containerd.events.TaskStart", { containerId: "c", pid }));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await fastDone;
    expect(fastReceived).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    let failure: unknown;
    try {
      for await (const _ of slow);
    } catch (error) {
      failure = error;
    }
    expect(kindOf(failure)).toBe("Unavailable");
    expect(warnings).toHaveLength(1);
    // the fast subscriber has left too, having taken all it wanted
    expect(exchange.stats()).toMatchObject({ subscribers: 0, dropped: 1, published: 100 });
  });

  it("parses filters when subscribing, so a malformed one throws at once", () => {
    const exchange = new Exchange();
    expect(() => exchange.subscribe(["name=foo"])).toThrow();
    expect(exchange.stats().subscribers).toBe(0);
  });
});
