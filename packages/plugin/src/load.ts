import { join } from "node:path";
import { isSkipPlugin } from "./errors.js";
import { getPlugin, getPlugins } from "./lookup.js";
import { orderPlugins } from "./order.js";
import { type InitContext, type Plugin, type PluginOutcome, pluginKey } from "./plugin.js";

export interface LoadOptions<H> {
  /** Each plugin's `root` is `<root>/<type>.<id>`. */
  readonly root: string;
  /** Each plugin's `state` is `<state>/<type>.<id>`. */
  readonly state: string;
  /** The host's configuration by `<type>.<id>`, laid over each plugin's `config` key by key. */
  readonly config?: Readonly<Record<string, object | undefined>>;
  /** `<type>.<id>` of plugins not to load, nor report (containerd's `disabled_plugins`). */
  readonly disabled?: readonly string[];
  /**
   * What the host gives `plugin` beside the context (see `InitContext`), asked just before its init.
   * Its own enumerable properties are spread into the context; the context's own names win.
   */
  readonly host: (plugin: Plugin<any, any, H>) => H;
  /** Told each outcome as soon as its plugin loaded, skipped itself or failed (a host logs them here). */
  readonly onOutcome?: (outcome: PluginOutcome, skipped: boolean) => void;
}

/**
 * Initialises `plugins` one at a time in dependency order (`orderPlugins`). A plugin whose init
 * throws is kept as an outcome with its error (a `SkipPlugin` for one that cannot run here) and
 * the rest still load; only a dependency cycle throws. Close what loaded with `closePlugins`.
 */
export async function loadPlugins<H>(plugins: readonly Plugin<any, any, H>[], options: LoadOptions<H>): Promise<PluginOutcome[]> {
  const outcomes: PluginOutcome[] = [];
  const disabled = new Set(options.disabled ?? []);
  for (const plugin of orderPlugins(plugins.filter((p) => !disabled.has(pluginKey(p))))) {
    const key = pluginKey(plugin);
    const exports: Record<string, string> = {};
    const context: InitContext<object, H> = {
      ...options.host(plugin),
      root: join(options.root, key),
      state: join(options.state, key),
      config: { ...(plugin.config ?? {}), ...(options.config?.[key] ?? {}) },
      exports,
      plugins: outcomes,
      get: (type, id) => getPlugin(outcomes, type, id),
      getAll: (type) => getPlugins(outcomes, type),
    };
    let outcome: PluginOutcome;
    try {
      outcome = { plugin, instance: await plugin.init(context), exports };
    } catch (error) {
      outcome = { plugin, exports, error: error instanceof Error ? error : new Error(String(error)) };
    }
    outcomes.push(outcome);
    options.onOutcome?.(outcome, outcome.error !== undefined && isSkipPlugin(outcome.error));
  }
  return outcomes;
}

/** Closes the plugins that loaded, last loaded first; a failing close is told to `onError` and the rest still close. */
export async function closePlugins(outcomes: readonly PluginOutcome[], onError?: (outcome: PluginOutcome, error: unknown) => void): Promise<void> {
  for (const outcome of [...outcomes].reverse()) {
    if (outcome.error !== undefined || outcome.plugin.close === undefined) continue;
    try {
      await outcome.plugin.close(outcome.instance);
    } catch (error) {
      onError?.(outcome, error);
    }
  }
}
