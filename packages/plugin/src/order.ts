import { PluginCycleError } from "./errors.js";
import { type Plugin, pluginKey } from "./plugin.js";

/**
 * Orders plugins so that each comes after every plugin of each type it requires; those that require
 * `"*"` come after all the others (in their own order, still after what they require by name).
 * Otherwise registration order is kept. A cycle throws `PluginCycleError`.
 */
export function orderPlugins<P extends Plugin<any, any, any>>(plugins: readonly P[]): P[] {
  const ordered: P[] = [];
  const placed = new Set<P>();
  const visiting: P[] = [];
  const place = (plugin: P) => {
    if (placed.has(plugin)) return;
    const at = visiting.indexOf(plugin);
    if (at !== -1) throw new PluginCycleError([...visiting.slice(at), plugin].map(pluginKey));
    visiting.push(plugin);
    for (const type of plugin.requires ?? []) {
      if (type === "*") continue;
      for (const dependency of plugins) if (dependency.type === type && dependency !== plugin) place(dependency);
    }
    visiting.pop();
    placed.add(plugin);
    ordered.push(plugin);
  };
  for (const plugin of plugins) if (!plugin.requires?.includes("*")) place(plugin);
  for (const plugin of plugins) place(plugin);
  return ordered;
}
