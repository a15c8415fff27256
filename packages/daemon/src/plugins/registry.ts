import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { DaemonMetrics } from "../metrics/registry.js";

/** Thrown by a plugin's init when it cannot run on this host; containerd's text marks it skipped. */
export class SkipPlugin extends Error {
  constructor(reason: string) {
    super(`${reason}: skip plugin`);
  }
}

export interface PluginPlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface InitContext<C> {
  /** This plugin's own directory under the root: `<root>/<type>.<id>` (created on demand). */
  readonly root: string;
  /** This plugin's own directory under the state dir. */
  readonly state: string;
  readonly config: C;
  readonly daemon: Config;
  readonly logger: Logger;
  /** Values the plugin publishes for introspection (e.g. its root). */
  readonly exports: Record<string, string>;
  /** The instance of the initialised plugin of `type` (and `id`, when several share the type); throws when there is none. */
  get<T>(type: string, id?: string): T;
  /** Every initialised plugin of `type`, by id. */
  getAll<T>(type: string): ReadonlyMap<string, T>;
  /** Every plugin's outcome so far (for introspection); later ones join as they load. */
  readonly plugins: readonly PluginOutcome[];
  /** Where plugins register what they report when scraped; undefined when `[metrics] address` is off. */
  readonly metrics: DaemonMetrics | undefined;
}

/**
 * A subsystem as the daemon sees it: `{type, id, requires, config, init}` as in containerd. Plugins
 * start in dependency order (every plugin of each required type first; "*" means after all others)
 * and stop in reverse.
 */
export interface Plugin<T = unknown, C extends object = object> {
  readonly type: string;
  readonly id: string;
  readonly requires?: readonly string[];
  /** Default configuration; `[plugins."<type>.<id>"]` in the config file overrides it. */
  readonly config?: C;
  readonly platforms?: readonly PluginPlatform[];
  init(context: InitContext<C>): Promise<T> | T;
  /** Called on shutdown with what init returned. */
  close?(instance: T): Promise<void> | void;
}

export interface PluginOutcome {
  readonly plugin: Plugin<any, any>;
  readonly instance?: unknown;
  readonly exports: Readonly<Record<string, string>>;
  /** Set when init failed or the plugin skipped itself (SkipPlugin). */
  readonly error?: Error;
}

export const pluginKey = (plugin: Pick<Plugin, "type" | "id">) => `${plugin.type}.${plugin.id}`;

/** Orders plugins so that each comes after all plugins of the types it requires. */
export function orderPlugins(plugins: readonly Plugin<any, any>[]): Plugin<any, any>[] {
  const ordered: Plugin<any, any>[] = [];
  const placed = new Set<Plugin<any, any>>();
  const visiting = new Set<Plugin<any, any>>();
  const place = (plugin: Plugin<any, any>) => {
    if (placed.has(plugin)) return;
    if (visiting.has(plugin)) throw new Error(`plugin dependency cycle through ${pluginKey(plugin)}`);
    visiting.add(plugin);
    for (const type of plugin.requires ?? []) {
      if (type === "*") continue;
      for (const dependency of plugins) if (dependency.type === type && dependency !== plugin) place(dependency);
    }
    visiting.delete(plugin);
    placed.add(plugin);
    ordered.push(plugin);
  };
  for (const plugin of plugins) if (!plugin.requires?.includes("*")) place(plugin);
  for (const plugin of plugins) place(plugin);
  return ordered;
}
