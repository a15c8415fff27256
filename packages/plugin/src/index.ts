/**
 * @berth/plugin: containerd's plugin contract, for any host. A plugin is `{type, id, requires,
 * config, platforms, init, close}`; `loadPlugins` initialises a set in dependency order with typed
 * lookup between them (`get(type, id)`), records which skipped themselves (`SkipPlugin`) or failed,
 * and `closePlugins` stops them in reverse. It depends on no host (only on `@berth/oci` for the platform): a backend exports its registration
 * beside its library without importing the daemon that loads it.
 */
export type { InitContext, Plugin, PluginContext, PluginOutcome, PluginPlatform, PluginType } from "./plugin.js";
export { hostPlatform, pluginKey, pluginType } from "./plugin.js";
export { PluginCycleError, PluginNotFoundError, SkipPlugin, isSkipPlugin } from "./errors.js";
export { orderPlugins } from "./order.js";
export { getPlugin, getPlugins } from "./lookup.js";
export type { LoadOptions } from "./load.js";
export { closePlugins, loadPlugins } from "./load.js";
