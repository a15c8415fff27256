import { PluginNotFoundError } from "./errors.js";
import type { PluginOutcome, PluginType } from "./plugin.js";

const loaded = (outcomes: readonly PluginOutcome[], type: string, id?: string) =>
  outcomes.filter((o) => o.plugin.type === type && (id === undefined || o.plugin.id === id) && o.error === undefined);

/**
 * The instance of the first loaded plugin of `type` (and `id`) among `outcomes`. Throws
 * `PluginNotFoundError` (kind NotFound) when there is none, with the error of a plugin of that
 * name that skipped itself or failed, if there is one.
 */
export function getPlugin<T>(outcomes: readonly PluginOutcome[], type: PluginType<T>, id?: string): T {
  const [found] = loaded(outcomes, type, id);
  if (found !== undefined) return found.instance as T;
  const failed = outcomes.find((o) => o.plugin.type === type && (id === undefined || o.plugin.id === id));
  throw new PluginNotFoundError(type, id, failed?.error);
}

/** The instances of every loaded plugin of `type` among `outcomes`, by id, in load order. */
export function getPlugins<T>(outcomes: readonly PluginOutcome[], type: PluginType<T>): ReadonlyMap<string, T> {
  return new Map(loaded(outcomes, type).map((o) => [o.plugin.id, o.instance as T]));
}
