import type { Adaptor, FieldPath } from "./types.js";

/**
 * An adaptor over a plain object, for records whose filterable fields are their properties:
 *
 *  - the path walks nested plain objects (own properties only, so `constructor` or `__proto__`
 *    never resolve; arrays are not walked);
 *  - a top-level field named in `maps` (e.g. "labels", "annotations") is a string map keyed by
 *    the rest of the path joined with ".", containerd's convention: `labels.a.b` is the label
 *    "a.b". A `Map` works as well as a plain object;
 *  - a string is its own value; numbers, booleans and bigints are converted with String();
 *    anything else (objects, null, undefined, functions, symbols) counts as absent.
 */
export function adaptObject(fields: object, maps: readonly string[] = []): Adaptor {
  const mapFields = new Set(maps);
  return {
    field(path: FieldPath): string | undefined {
      const [head, ...rest] = path;
      if (head === undefined) return undefined;
      const top = own(fields, head);
      if (mapFields.has(head)) return leaf(own(top, rest.join(".")));
      return leaf(rest.reduce(own, top));
    },
  };
}

function own(container: unknown, key: string): unknown {
  if (container instanceof Map) return container.get(key);
  if (typeof container !== "object" || container === null || Array.isArray(container)) return undefined;
  return Object.hasOwn(container, key) ? (container as Record<string, unknown>)[key] : undefined;
}

function leaf(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "boolean":
    case "bigint":
      return String(value);
    default:
      return undefined;
  }
}
