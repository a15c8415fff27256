import type { Any, CallContext, Envelope, EventStream, Forwarder, Publisher, Subscriber } from "@berth/api";
import * as eventsV1 from "@berth/api/gen/containerd/services/events/v1/events";
import type { ServiceClient } from "@berth/api/services";

/** The event exchange of a remote daemon, through its Events service. */
export class EventsProxy implements Publisher, Forwarder, Subscriber {
  constructor(private readonly service: ServiceClient<typeof eventsV1.EventsDefinition>) {}

  async publish(context: CallContext, topic: string, event: Any): Promise<void> {
    await this.service.publish({ topic, event }, context);
  }

  async forward(context: CallContext, envelope: Envelope): Promise<void> {
    await this.service.forward({ envelope }, context);
  }

  subscribe(filters: readonly string[], signal?: AbortSignal): EventStream {
    return this.service.subscribe({ filters: [...filters] }, { signal });
  }
}
