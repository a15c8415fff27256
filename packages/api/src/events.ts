import type { CallContext } from "./context.js";
import { invalidArgument } from "./errors.js";
import { isValidIdentifier } from "./identifiers.js";
import type { Timestamp } from "./timestamps.js";
import type { Any } from "./typeurl.js";

/** `containerd.services.events.v1.Envelope` as the generated code has it (known-types.ts checks that they match). */
export interface Envelope {
  timestamp: Timestamp | undefined;
  namespace: string;
  topic: string;
  event: Any | undefined;
}

/**
 * Publishes events that happen here. The exchange stamps each event with the current time and
 * the namespace of `context`, which is required (FailedPrecondition without it). `topic` must
 * be valid (see `validateTopic`); `event` is packed with a bare type URL.
 */
export interface Publisher {
  publish(context: CallContext, topic: string, event: Any): Promise<void>;
}

/**
 * Passes on an envelope stamped elsewhere (by a shim): it is validated — a valid namespace and
 * topic and a non-zero timestamp — and delivered unchanged.
 */
export interface Forwarder {
  forward(context: CallContext, envelope: Envelope): Promise<void>;
}

/** A stream of envelopes. Every event published after `ready` resolves is delivered, in order. */
export interface EventStream extends AsyncIterable<Envelope> {
  readonly ready: Promise<void>;
}

/**
 * Streams envelopes of every namespace unless `filters` narrow them (fields `topic`, `namespace`
 * and `event.<field>`; several filters are OR'ed; a malformed one fails the stream with
 * InvalidArgument). Ends when `signal` aborts. Publishers never wait for subscribers: a slow reader's
 * events are queued, and only one that has stopped reading may be dropped, its stream then failing
 * with Unavailable.
 */
export interface Subscriber {
  subscribe(filters: readonly string[], signal?: AbortSignal): EventStream;
}

/** Topics are `/`-separated identifiers after a leading `/`, e.g. `/tasks/exit`. */
export function validateTopic(topic: string): void {
  if (topic === "") throw invalidArgument("must not be empty for event");
  if (!topic.startsWith("/")) throw invalidArgument(`must start with '/' for event: topic ${JSON.stringify(topic)}`);
  for (const component of topic.slice(1).split("/")) {
    if (!isValidIdentifier(component)) {
      throw invalidArgument(`failed validation on component ${JSON.stringify(component)}: topic ${JSON.stringify(topic)}`);
    }
  }
}
