import { type CallContext, notFound, requireNamespace } from "@berth/api";
import type { Bundle } from "./bundle.js";

/** What a runtime keeps per task it serves, keyed `<namespace>/<id>`. */
export interface HeldTask<T> {
  readonly task: T;
  readonly bundle: Bundle;
}

/** The held task `id` of the caller's namespace; NotFound when there is none. */
export function heldTask<H extends HeldTask<unknown>>(held: ReadonlyMap<string, H>, context: CallContext, id: string): H {
  const found = held.get(`${requireNamespace(context)}/${id}`);
  if (found === undefined) throw notFound(`task ${id}`);
  return found;
}

/** The tasks of the caller's namespace, or of every namespace with `all`. */
export function heldTasks<T>(held: ReadonlyMap<string, HeldTask<T>>, context: CallContext, all: boolean): T[] {
  const namespace = all ? undefined : requireNamespace(context);
  return [...held.values()].filter((entry) => namespace === undefined || entry.bundle.namespace === namespace).map((entry) => entry.task);
}
