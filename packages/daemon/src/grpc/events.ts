import { type Forwarder, type Publisher, type Subscriber, invalidArgument } from "@berth/api";
import { eventsV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";

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
    subscribe: ({ filters }, context) => events.subscribe(filters, context.signal),
  };
}
