import { hostPlatform as hostSpec } from "@berth/oci";

declare const instanceBrand: unique symbol;

/**
 * A plugin type's name (`io.containerd.snapshotter.v1`) that also carries, at compile time only,
 * what the plugins of that type give: `get(snapshotterType)` is then a `Snapshotter` without a
 * type argument. A plain string is a `PluginType<unknown>`; make typed ones with `pluginType`.
 */
export type PluginType<T> = string & { readonly [instanceBrand]?: T };

/** `name` as a typed plugin type: the instances of plugins of this type are `T`s. */
export const pluginType = <T>(name: string): PluginType<T> => name as PluginType<T>;

/** A platform a plugin serves, in Go's names (`linux`/`windows`, `amd64`/`arm64`), as `ctr plugins ls` shows. */
export interface PluginPlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** This host's platform in Go's names, as containerd's `platforms.DefaultSpec()`. */
export const hostPlatform: PluginPlatform = hostSpec();

/**
 * What `init` is given. `H` is what the host (a daemon) gives every plugin beside this: its own
 * configuration, logger, metrics…; a plugin names in `H` only what it uses, so a backend package can
 * export its registration without depending on any particular host.
 */
export type InitContext<C, H = unknown> = H & PluginContext<C>;

/** The host-independent part of `InitContext`. */
export interface PluginContext<C> {
  /** This plugin's own directory under the host's root: `<root>/<type>.<id>` (made on demand, by the plugin). */
  readonly root: string;
  /** This plugin's own directory under the host's state directory: `<state>/<type>.<id>`. */
  readonly state: string;
  /** The plugin's `config` with the host's overrides for `<type>.<id>` laid over it (key by key). */
  readonly config: C;
  /** Values the plugin publishes for introspection (e.g. its root): `ctr plugins ls -d` shows them. */
  readonly exports: Record<string, string>;
  /**
   * The instance of the loaded plugin of `type` (and `id`, when several share the type): the first
   * loaded, in load order. Throws `PluginNotFoundError` (kind NotFound) when there is none, naming
   * why when one was registered but skipped itself or failed.
   */
  get<T>(type: PluginType<T>, id?: string): T;
  /** Every loaded plugin of `type`, by id, in load order; empty when there is none. */
  getAll<T>(type: PluginType<T>): ReadonlyMap<string, T>;
  /** Every plugin's outcome so far (for introspection); later ones join as they load. */
  readonly plugins: readonly PluginOutcome[];
}

/**
 * A subsystem as containerd sees it: `{type, id, requires, config, init}`. Plugins start in
 * dependency order (every plugin of each required type first; `"*"` means after all others) and
 * stop in reverse. `T` is what init gives (what other plugins `get`), `C` its configuration, `H`
 * what it needs from its host (see `InitContext`).
 */
export interface Plugin<T = unknown, C extends object = object, H = unknown> {
  readonly type: string;
  readonly id: string;
  /** The plugin types that must load first; `"*"` loads this plugin after every other. */
  readonly requires?: readonly string[];
  /** Default configuration; the host's configuration for `<type>.<id>` overrides it key by key. */
  readonly config?: C;
  readonly platforms?: readonly PluginPlatform[];
  /**
   * Makes the instance; throws `SkipPlugin` when the plugin cannot run on this host. A property, not
   * a method, so that a host that lacks what the plugin's `H` asks for is a compile error.
   */
  readonly init: (context: InitContext<C, H>) => Promise<T> | T;
  /** Called on shutdown with what init returned. */
  close?(instance: T): Promise<void> | void;
}

/** What loading one plugin came to. */
export interface PluginOutcome {
  readonly plugin: Plugin<any, any, any>;
  /** What init returned; undefined when it threw. */
  readonly instance?: unknown;
  readonly exports: Readonly<Record<string, string>>;
  /** Set when init failed or the plugin skipped itself (then a `SkipPlugin`, see `isSkipPlugin`). */
  readonly error?: Error;
}

/** `<type>.<id>`: a plugin's name in configuration, in `disabled_plugins` and in its directories. */
export const pluginKey = (plugin: Pick<Plugin, "type" | "id">): string => `${plugin.type}.${plugin.id}`;
