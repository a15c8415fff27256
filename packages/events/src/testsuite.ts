import { type Envelope, type EventStream, type Forwarder, type Publisher, type Subscriber, kindOf, kindOfFailure, requireNamespace } from "@berth/api";
import { knownTypes } from "@berth/api/known-types";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

export interface EventsUnderTest {
  readonly publisher: Publisher;
  readonly forwarder: Forwarder;
  readonly subscriber: Subscriber;
  close(): Promise<void>;
}

const types = knownTypes();
const taskStart = (containerId: string, pid = 1) => types.pack("containerd.events.TaskStart", { containerId, pid });
const namespaceCreate = (name: string) => types.pack("containerd.events.NamespaceCreate", { name, labels: {} });

async function take(stream: EventStream, count: number, timeoutMs = 5000): Promise<Envelope[]> {
  const received: Envelope[] = [];
  const iterator = stream[Symbol.asyncIterator]();
  const deadline = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`timed out after ${received.length} of ${count} events`)), timeoutMs).unref(),
  );
  while (received.length < count) {
    const next = await Promise.race([iterator.next(), deadline]);
    if (next.done) break;
    received.push(next.value);
  }
  return received;
}

/**
 * The contract every Publisher/Forwarder/Subscriber must keep, run against the in-process exchange
 * and against the gRPC proxy. It checks error kinds, never message text.
 */
export function describeEventsConformance(name: string, create: () => Promise<EventsUnderTest>): void {
  describe(`events conformance: ${name}`, () => {
    let events: EventsUnderTest;
    let controller: AbortController;
    beforeEach(async () => {
      events = await create();
      controller = new AbortController();
    });
    afterEach(async () => {
      controller.abort();
      await events.close();
    });

    const subscribe = async (filters: string[] = []) => {
      const stream = events.subscriber.subscribe(filters, controller.signal);
      await stream.ready;
      return stream;
    };

    it("stamps a published event with the time and the caller's namespace", async () => {
      const stream = await subscribe();
      const before = Date.now();
      await events.publisher.publish({ namespace: "ns1" }, "/tasks/start", taskStart("c1"));
      const [envelope] = await take(stream, 1);
      expect(envelope?.namespace).toBe("ns1");
      expect(envelope?.topic).toBe("/tasks/start");
      const stampedMs = (envelope?.timestamp?.seconds ?? 0) * 1000 + (envelope?.timestamp?.nanos ?? 0) / 1e6;
      expect(stampedMs).toBeGreaterThanOrEqual(before - 1000);
      expect(stampedMs).toBeLessThanOrEqual(Date.now() + 1000);
      expect(envelope?.event?.typeUrl).toBe("containerd.events.TaskStart");
      expect(types.unpack(envelope!.event!)).toMatchObject({ containerId: "c1", pid: 1 });
    });

    it("delivers every namespace to a subscriber without filters, in publish order", async () => {
      const stream = await subscribe();
      for (let i = 0; i < 20; i++) await events.publisher.publish({ namespace: i % 2 ? "odd" : "even" }, "/tasks/start", taskStart(`c${i}`));
      const received = await take(stream, 20);
      expect(received.map((e) => types.unpack<{ containerId: string }>(e.event!).containerId)).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`));
      expect(new Set(received.map((e) => e.namespace))).toEqual(new Set(["odd", "even"]));
    });

    it("narrows by namespace, topic (with the /…/.+ form) and event fields; several filters are OR'ed", async () => {
      const byNamespace = await subscribe(["namespace==bb"]);
      const byTopic = await subscribe(["topic~=/tasks/.+,namespace==bb"]);
      const byField = await subscribe(["event.container_id==wanted"]);
      const either = await subscribe(["topic==/namespaces/create", "event.container_id==wanted"]);
      await events.publisher.publish({ namespace: "aa" }, "/tasks/start", taskStart("wanted"));
      await events.publisher.publish({ namespace: "bb" }, "/namespaces/create", namespaceCreate("x"));
      await events.publisher.publish({ namespace: "bb" }, "/tasks/start", taskStart("other"));
      await events.publisher.publish({ namespace: "bb" }, "/tasks/start", taskStart("last"));
      const topics = (list: Envelope[]) => list.map((e) => `${e.namespace}${e.topic}`);
      expect(topics(await take(byNamespace, 3))).toEqual(["bb/namespaces/create", "bb/tasks/start", "bb/tasks/start"]);
      expect(topics(await take(byTopic, 2))).toEqual(["bb/tasks/start", "bb/tasks/start"]);
      expect(topics(await take(byField, 1))).toEqual(["aa/tasks/start"]);
      expect(topics(await take(either, 2))).toEqual(["aa/tasks/start", "bb/namespaces/create"]);
    });

    it("fails a subscription with a malformed filter as InvalidArgument", async () => {
      const subscribeAndTake = async () => take(events.subscriber.subscribe(["topic=="], controller.signal), 1);
      expect(await kindOfFailure(subscribeAndTake)).toBe("InvalidArgument");
    });

    it("refuses to publish without a namespace, or with an invalid topic, and delivers nothing", async () => {
      const stream = await subscribe();
      expect(await kindOfFailure(() => events.publisher.publish({}, "/tasks/start", taskStart("c")))).toBe("FailedPrecondition");
      expect(await kindOfFailure(() => events.publisher.publish({ namespace: "bad namespace" }, "/tasks/start", taskStart("c")))).toBe("InvalidArgument");
      for (const topic of ["", "tasks/start", "/tasks//start", "/tasks/start!"]) {
        expect(await kindOfFailure(() => events.publisher.publish({ namespace: "ns" }, topic, taskStart("c")))).toBe("InvalidArgument");
      }
      await events.publisher.publish({ namespace: "ns" }, "/tasks/start", taskStart("only"));
      const [envelope] = await take(stream, 1);
      expect(types.unpack<{ containerId: string }>(envelope!.event!).containerId).toBe("only");
    });

    it("forwards an envelope unchanged, and refuses one without a valid namespace, topic or timestamp", async () => {
      const stream = await subscribe();
      const timestamp = { seconds: 1_500_000_000, nanos: 123_456_789 };
      const good = { timestamp, namespace: "shim-ns", topic: "/tasks/exit", event: taskStart("fwd") };
      expect(await kindOfFailure(() => events.forwarder.forward({}, { ...good, namespace: "" }))).toBe("InvalidArgument");
      expect(await kindOfFailure(() => events.forwarder.forward({}, { ...good, topic: "no-slash" }))).toBe("InvalidArgument");
      expect(await kindOfFailure(() => events.forwarder.forward({}, { ...good, timestamp: undefined }))).toBe("InvalidArgument");
      await events.forwarder.forward({ namespace: "caller-ns" }, good);
      const [envelope] = await take(stream, 1);
      expect(envelope).toMatchObject({ namespace: "shim-ns", topic: "/tasks/exit", timestamp });
    });

    it("ends a subscription when its signal aborts", async () => {
      const own = new AbortController();
      const stream = events.subscriber.subscribe([], own.signal);
      await stream.ready;
      const drained = (async () => {
        try {
          for await (const _ of stream);
          return "ended";
        } catch (error) {
          return kindOf(error);
        }
      })();
      own.abort();
      expect(["ended", "Canceled"]).toContain(await drained);
      // the publisher is unaffected by the departed subscriber
      await events.publisher.publish({ namespace: requireNamespace({ namespace: "ns" }) }, "/tasks/start", taskStart("after"));
    });
  });
}
