import { eventsV1 } from "@berth/api/proto";
import { Client, EventsProxy } from "@berth/client";
import { describeEventsConformance } from "@berth/events/testsuite";
import { type RunningDaemon, startBerthd } from "@berth/testkit";
import { afterAll, beforeAll } from "vitest";

let berthd: RunningDaemon;
beforeAll(async () => {
  berthd = await startBerthd();
});
afterAll(async () => {
  await berthd?.cleanup();
});

describeEventsConformance("gRPC proxy to berthd", async () => {
  const client = await Client.connect({ address: berthd.address });
  // No default namespace: the suite checks what the daemon says to calls without one.
  const events = new EventsProxy(client.service(eventsV1.EventsDefinition, {}));
  return { publisher: events, forwarder: events, subscriber: events, close: async () => client.close() };
});
