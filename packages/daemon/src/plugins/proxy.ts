import { type ContentStore, type Snapshotter, invalidArgument, isKind } from "@berth/api";
import { contentV1, snapshotsV1 } from "@berth/api/proto";
import { type CallOptions, type ServiceClient, type ServiceDefinition, createServiceClient, grpc } from "@berth/api/services";
import type { Plugin, PluginPlatform } from "./registry.js";
import { hostPlatform, pluginTypes } from "./types.js";

/**
 * One entry of containerd's `[proxy_plugins.<name>]`: a snapshotter or content store served by
 * another process over gRPC on the unix socket `address`.
 */
export interface ProxyPluginSettings {
  /** "snapshot" or "content" (or their plugin types, `io.containerd.snapshotter.v1` / `io.containerd.content.v1`). */
  type: string;
  address: string;
  /** The platform the plugin reports, `os/arch[/variant]`; default: the host's. */
  platform?: string;
  /** Extra values `ctr plugins ls -d` shows beside `address`. */
  exports?: Record<string, string>;
}

const proxyTypes: Readonly<Record<string, string>> = {
  snapshot: pluginTypes.snapshotter,
  [pluginTypes.snapshotter]: pluginTypes.snapshotter,
  content: pluginTypes.content,
  [pluginTypes.content]: pluginTypes.content,
};

const isTable = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function platformOf(text: string | undefined, where: string): PluginPlatform {
  if (text === undefined || text === "") return hostPlatform;
  const [os, architecture, variant, ...rest] = text.split("/");
  if (!os || !architecture || rest.length > 0) throw invalidArgument(`${where}: ${JSON.stringify(text)} is not a platform (want os/arch[/variant])`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** Checks `[proxy_plugins]` as parsed from `source`; every error names the offending key. */
export function checkProxyPlugins(proxies: Record<string, unknown>, source: string): void {
  const contentProxies: string[] = [];
  for (const [name, entry] of Object.entries(proxies)) {
    const where = `${source}: proxy_plugins.${name}`;
    if (!isTable(entry)) throw invalidArgument(`${where} must be a table`);
    if (typeof entry.type !== "string" || proxyTypes[entry.type] === undefined) {
      throw invalidArgument(`${where}.type: unsupported proxy plugin type ${JSON.stringify(entry.type ?? "")} (want "snapshot" or "content")`);
    }
    if (typeof entry.address !== "string" || entry.address === "") throw invalidArgument(`${where}.address: must be the proxy's socket path`);
    if (entry.platform !== undefined && typeof entry.platform !== "string") throw invalidArgument(`${where}.platform: must be a string`);
    platformOf(entry.platform as string | undefined, `${where}.platform`);
    if (entry.exports !== undefined && (!isTable(entry.exports) || Object.values(entry.exports).some((v) => typeof v !== "string"))) {
      throw invalidArgument(`${where}.exports: must be a table of strings`);
    }
    if (proxyTypes[entry.type] === pluginTypes.content) contentProxies.push(name);
  }
  if (contentProxies.length > 1)
    throw invalidArgument(`${source}: proxy_plugins: only one content proxy can replace the content store (${contentProxies.join(", ")})`);
}

/** The content proxy that replaces the local content store, if one is configured (and not disabled). */
export function contentProxyOf(config: {
  readonly proxy_plugins?: Readonly<Record<string, ProxyPluginSettings>>;
  readonly disabled_plugins: readonly string[];
}): string | undefined {
  return Object.entries(config.proxy_plugins ?? {}).find(
    ([name, entry]) => proxyTypes[entry.type] === pluginTypes.content && !config.disabled_plugins.includes(`${pluginTypes.content}.${name}`),
  )?.[0];
}

/** Berth's client, which has the proxies: loaded only by a daemon that has a proxy plugin, as few do. */
const clientModule = () => import("@berth/client");

/** A plugin for each `[proxy_plugins]` entry; one whose type and id a built-in plugin has is an error. */
export function proxyPlugins(proxies: Readonly<Record<string, ProxyPluginSettings>>, builtins: readonly Plugin<any, any>[]): Plugin<any, any>[] {
  return Object.entries(proxies).map(([name, settings]) => {
    const type = proxyTypes[settings.type]!;
    if (builtins.some((plugin) => plugin.type === type && plugin.id === name))
      throw invalidArgument(`proxy_plugins.${name}: plugin ${type}.${name} is built in`);
    return type === pluginTypes.snapshotter
      ? // As containerd's: requests carry the plugin's own name; the proxy serves them whatever it is.
        proxyPlugin<Snapshotter>(
          type,
          name,
          settings,
          async (channel) => new (await clientModule()).SnapshotsProxy(channel.service(snapshotsV1.SnapshotsDefinition), name),
        )
      : proxyPlugin<ContentStore>(
          type,
          name,
          settings,
          async (channel) => new (await clientModule()).ContentProxy(channel.service(contentV1.ContentDefinition)),
        );
  });
}

function proxyPlugin<T>(type: string, name: string, settings: ProxyPluginSettings, serviceOf: (channel: ProxyChannel) => Promise<T>): Plugin<T> {
  const channel = new ProxyChannel(settings.address);
  return {
    type,
    id: name,
    platforms: [platformOf(settings.platform, name)],
    init: async ({ exports }) => {
      Object.assign(exports, settings.exports, { address: settings.address });
      return serviceOf(channel);
    },
    close: () => channel.close(),
  };
}

const target = (address: string) => (address.startsWith("unix:") ? address : `unix://${address}`);

/**
 * The connection to one proxy: dialled on first use, never waited for (a call to a proxy that is
 * not there fails Unavailable at once instead of hanging), and dialled anew after it went down, so
 * that the first call after the proxy came back reaches it (grpc-js would otherwise keep failing
 * until its reconnect backoff, up to two minutes, ran out).
 */
class ProxyChannel {
  #channel: grpc.Client | undefined;
  #clients = new Map<ServiceDefinition, ServiceClient<ServiceDefinition>>();

  constructor(private readonly address: string) {}

  /** A client of `definition` whose every call goes over the current channel. */
  service<D extends ServiceDefinition>(definition: D): ServiceClient<D> {
    const client: Record<string, unknown> = {};
    for (const [key, method] of Object.entries(definition.methods)) {
      const current = () => {
        const channel = this.#current();
        const methods = this.#clientOf(definition) as unknown as Record<string, (...args: unknown[]) => unknown>;
        return { channel, call: methods[key]! };
      };
      if (!method.requestStream && !method.responseStream) {
        client[key] = (request: unknown, options?: CallOptions) => {
          const { channel, call } = current();
          return (call(request, options) as Promise<unknown>).catch((error: unknown) => this.#failed(channel, error));
        };
      } else if (!method.requestStream) {
        client[key] = (request: unknown, options?: CallOptions) => {
          const { channel, call } = current();
          const stream = call(request, options) as AsyncIterable<unknown> & { ready: Promise<void>; cancel(): void };
          return { ready: stream.ready, cancel: () => stream.cancel(), [Symbol.asyncIterator]: () => this.#watch(channel, stream) };
        };
      } else {
        client[key] = (options?: CallOptions) => {
          const { channel, call } = current();
          const bidi = call(options) as AsyncIterable<unknown> & { send(request: unknown): void; end(): void; cancel(): void };
          return {
            send: (r: unknown) => bidi.send(r),
            end: () => bidi.end(),
            cancel: () => bidi.cancel(),
            [Symbol.asyncIterator]: () => this.#watch(channel, bidi),
          };
        };
      }
    }
    return client as ServiceClient<D>;
  }

  close(): void {
    this.#channel?.close();
    this.#channel = undefined;
    this.#clients.clear();
  }

  #current(): grpc.Client {
    this.#channel ??= new grpc.Client(target(this.address), grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 16 << 20,
      "grpc.max_send_message_length": 16 << 20,
      "grpc.default_authority": "localhost",
    });
    return this.#channel;
  }

  #clientOf<D extends ServiceDefinition>(definition: D): ServiceClient<D> {
    let client = this.#clients.get(definition);
    if (client === undefined) {
      // No waitForReady: a proxy that is down answers Unavailable at once.
      client = createServiceClient(definition, this.#current(), { waitForReady: false });
      this.#clients.set(definition, client);
    }
    return client as ServiceClient<D>;
  }

  async *#watch<T>(channel: grpc.Client, stream: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* stream;
    } catch (error) {
      this.#failed(channel, error);
    }
  }

  /** Rethrows `error`, first dropping `channel` when the proxy behind it is unreachable. */
  #failed(channel: grpc.Client, error: unknown): never {
    if (isKind(error, "Unavailable") && channel === this.#channel && channel.getChannel().getConnectivityState(false) !== grpc.connectivityState.READY) {
      this.close();
    }
    throw error;
  }
}
