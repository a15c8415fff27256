import { type Forwarder, type Publisher, type Subscriber, invalidArgument } from "@berth/api";
import { type eventsTtrpcV1, eventsV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";
import type { TtrpcHandlers } from "@berth/ttrpc";

export function eventsHandlers(events: Publisher & Forwarder & Subscriber): ServiceHandlers<typeof eventsV1.EventsDefinition> {
  return {
    publish: async ({ topic, event }, context) => {
      if (event === undefined) throw invalidArgument("event: must be set");
      await events.publish(context, topic, event);
      return {};
    },
    forward: async ({ envelope }, context) => {
      if (envelope === undefined) throw invalidArgument("envelope: must be set");
      await events.forward(context, envelope);
      return {};
    },
    // The server pulls the next envelope only once the client's HTTP/2 stream has room for it
    // (write, else 'drain'), so what waits in the exchange is what the client has not yet read.
    subscribe: ({ filters }, context) => events.subscribe(filters, context.signal),
  };
}

/** Forward on the ttrpc socket: how shims publish the task events they observe. */
export function eventsTtrpcHandlers(events: Forwarder): TtrpcHandlers<typeof eventsTtrpcV1.EventsDefinition> {
  return {
    forward: async ({ envelope }, context) => {
      if (envelope === undefined) throw invalidArgument("envelope: must be set");
      await events.forward(context, envelope);
      return {};
    },
  };
}
