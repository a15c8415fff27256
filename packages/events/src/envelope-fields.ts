import type { Envelope, TypeRegistry } from "@berth/api";
import type { Adaptor, FieldPath } from "@berth/filters";

const camelCase = (name: string) => name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());

/**
 * Filter fields of an envelope: `namespace`, `topic`, and `event.<field>` for the string fields of
 * the decoded event (named as in the .proto, e.g. `event.container_id`). The event is decoded at
 * most once, and only when a filter asks for one of its fields.
 */
export function envelopeAdaptor(envelope: Envelope, types: TypeRegistry): Adaptor {
  let event: Record<string, unknown> | null | undefined;
  const decoded = () => {
    if (event === undefined) {
      try {
        event = envelope.event && types.has(envelope.event.typeUrl) ? types.unpack<Record<string, unknown>>(envelope.event) : null;
      } catch {
        event = null;
      }
    }
    return event;
  };
  return {
    field(path: FieldPath): string | undefined {
      const [head, ...rest] = path;
      switch (head) {
        case "namespace":
          return rest.length === 0 ? envelope.namespace : undefined;
        case "topic":
          return rest.length === 0 ? envelope.topic : undefined;
        case "event": {
          const [name, ...deeper] = rest;
          if (name === undefined || deeper.length > 0) return undefined;
          const value = decoded()?.[camelCase(name)];
          return typeof value === "string" ? value : undefined;
        }
        default:
          return undefined;
      }
    },
  };
}
