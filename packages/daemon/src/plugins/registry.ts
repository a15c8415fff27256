import type { InitContext as PluginInitContext, Plugin as PluginOf } from "@berth/plugin";
import type { CallActivity } from "../call-activity.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { DaemonMetrics } from "../metrics/registry.js";

/** What berthd gives each plugin beside @berth/plugin's context. */
export interface DaemonFacts {
  /** The daemon's whole configuration (its addresses, root, state, debug level). */
  readonly daemon: Config;
  /** The daemon's logger, naming the plugin. */
  readonly logger: Logger;
  /** Where plugins register what they report when scraped; undefined when `[metrics] address` is off. */
  readonly metrics: DaemonMetrics | undefined;
  /** When the daemon's calls last started or ended: background work waits for a pause in them. */
  readonly calls: CallActivity;
}

/** A plugin that may use all of berthd's facts (a backend's own registration names fewer, or none). */
export type Plugin<T = unknown, C extends object = object> = PluginOf<T, C, DaemonFacts>;

export type InitContext<C> = PluginInitContext<C, DaemonFacts>;

// The rest of the contract, for the daemon's plugin files, is @berth/plugin's own.
export type { PluginOutcome, PluginPlatform } from "@berth/plugin";
export { SkipPlugin } from "@berth/plugin";
