import { mkdir } from "node:fs/promises";
import type { CallObserver } from "@berth/api/services";
import { cleanupTempMounts } from "@berth/mount";
import { type PluginOutcome, closePlugins as closeEach, loadPlugins, pluginKey } from "@berth/plugin";
import { type Config, tempMountsOf, ttrpcAddressOf } from "./config.js";
import type { Logger } from "./log.js";
import { CallActivity } from "./call-activity.js";
import { HeapTrim } from "./heap-trim.js";
import { type GrpcService, type GrpcServices, pluginTypes, servicesOf } from "./plugins/types.js";
import type { Plugin } from "./plugins/registry.js";
import { type RunningServer, serveGrpc } from "./server.js";
import type { DebugServer } from "./debug-server.js";
import { type MetricsServer, parseListenAddress, serveMetrics } from "./metrics/http.js";
import type { DaemonMetrics } from "./metrics/registry.js";
import { serveTtrpc } from "./ttrpc-server.js";

/** A running berthd: its plugins, initialised in dependency order, and the gRPC server. */
export class Daemon {
  private constructor(
    readonly config: Config,
    readonly outcomes: readonly PluginOutcome[],
    private readonly server: RunningServer,
    private readonly ttrpcServer: RunningServer,
    private readonly logger: Logger,
    /** The metrics endpoint, when `[metrics] address` is set. */
    readonly metricsServer: MetricsServer | undefined,
    /** The debug endpoints (V8 heap snapshot and CPU profile), when `[debug] address` is set. */
    readonly debugServer?: DebugServer,
  ) {}

  static async start(config: Config, plugins: readonly Plugin<any, any>[], logger: Logger): Promise<Daemon> {
    await mkdir(config.root, { recursive: true, mode: 0o711 });
    await mkdir(config.state, { recursive: true, mode: 0o711 });
    if (config.metrics.address !== "") parseListenAddress(config.metrics.address);
    // Before any plugin touches a snapshot: a killed daemon's mounts must not pin what GC removes.
    const unmounted = await cleanupTempMounts(tempMountsOf(config));
    if (unmounted.length > 0) logger.warn({ mounts: unmounted }, "unmounted temporary mounts left by an earlier run");
    // Metrics cost nothing unless an address is configured: no registry, no per-call counting,
    // not even prom-client's modules.
    const metrics = config.metrics.address === "" ? undefined : new (await import("./metrics/registry.js")).DaemonMetrics();
    const calls = new CallActivity();
    const outcomes = await initPlugins(config, plugins, logger, metrics, calls);
    const services = outcomes
      .filter((o) => o.plugin.type === pluginTypes.grpc && o.error === undefined)
      .flatMap((o) => servicesOf(o.instance as GrpcService | GrpcServices));
    let observer = requestLog(logger, calls);
    if (metrics !== undefined) {
      const [{ registerProcessMetrics }, { registerDaemonCounts }, { grpcMetrics, observeAll }] = await Promise.all([
        import("./metrics/process.js"),
        import("./metrics/daemon-counts.js"),
        import("./metrics/grpc.js"),
      ]);
      registerProcessMetrics(metrics.registry);
      registerDaemonCounts(metrics.registry, outcomes);
      observer = observeAll([
        observer,
        grpcMetrics(
          metrics.registry,
          services.map((s) => s.definition),
          config.metrics.grpc_histogram,
        ),
      ]);
    }
    const ttrpcServices = services.flatMap((service) => (service.ttrpc === undefined ? [] : [service.ttrpc]));
    let server: RunningServer | undefined;
    let ttrpcServer: RunningServer;
    let metricsServer: MetricsServer | undefined;
    let debugServer: DebugServer | undefined;
    try {
      ttrpcServer = await serveTtrpc(ttrpcServices, ttrpcAddressOf(config), config.grpc.uid, config.grpc.gid, logger);
    } catch (error) {
      await closePlugins(outcomes, logger);
      throw error;
    }
    try {
      // Before the gRPC socket: whoever sees the socket may scrape at once.
      if (metrics !== undefined) {
        metricsServer = await serveMetrics(metrics, config.metrics.address, logger);
        logger.info({ address: metricsServer.address }, "serving metrics");
      }
      if (config.debug.address !== "") {
        // Loaded only when configured: node:inspector brings much of Node's code along.
        const { serveDebug } = await import("./debug-server.js");
        debugServer = await serveDebug(config.debug.address, config.debug, logger);
        logger.info({ address: debugServer.address }, "serving debug endpoints");
      }
      server = await serveGrpc(services, {
        address: config.grpc.address,
        uid: config.grpc.uid,
        gid: config.grpc.gid,
        maxReceiveMessageSize: config.grpc.max_recv_message_size,
        maxSendMessageSize: config.grpc.max_send_message_size,
        observer,
      });
    } catch (error) {
      await metricsServer?.close();
      await debugServer?.close();
      await server?.close();
      await ttrpcServer.close();
      await closePlugins(outcomes, logger);
      throw error;
    }
    logger.info({ address: config.grpc.address, ttrpc: ttrpcAddressOf(config) }, "serving");
    return new Daemon(config, outcomes, server, ttrpcServer, logger, metricsServer, debugServer);
  }

  /** Stops serving (open streams get a grace period), then closes plugins in reverse order. */
  async stop(): Promise<void> {
    this.logger.info("stopping");
    // Subscriptions never end on their own; ending them lets the server drain.
    for (const outcome of this.outcomes) {
      if (outcome.plugin.type === pluginTypes.event && outcome.error === undefined) outcome.plugin.close?.(outcome.instance);
    }
    await this.metricsServer?.close();
    await this.debugServer?.close();
    await this.server.close();
    await this.ttrpcServer.close();
    await closePlugins(
      this.outcomes.filter((o) => o.plugin.type !== pluginTypes.event),
      this.logger,
    );
    this.logger.info("stopped");
  }
}

/**
 * One debug line per finished call, with an id to tie it to whatever else the call logged; every
 * call's start and end told to `calls` (background work waits for a pause); and, once calls go
 * quiet, a trim of what their buffers left in glibc's heaps.
 */
function requestLog(logger: Logger, calls: CallActivity): CallObserver {
  let next = 0;
  const heapTrim = new HeapTrim(calls);
  return {
    forMethod: (service, method) => {
      const trimWatch = heapTrim.watch(service, method);
      return {
        started() {
          calls.noteCall();
          trimWatch.started?.();
        },
        finished(code, seconds) {
          calls.noteCall();
          trimWatch.finished(code, seconds);
          if (logger.isLevelEnabled("debug")) logger.debug({ request: ++next, service, method, code, seconds: Math.round(seconds * 1e6) / 1e6 }, "request");
        },
      };
    },
  };
}

function initPlugins(
  config: Config,
  plugins: readonly Plugin<any, any>[],
  logger: Logger,
  metrics: DaemonMetrics | undefined,
  calls: CallActivity,
): Promise<PluginOutcome[]> {
  return loadPlugins(plugins, {
    root: config.root,
    state: config.state,
    config: config.plugins,
    disabled: config.disabled_plugins,
    host: (plugin) => ({ daemon: config, logger: logger.child({ plugin: pluginKey(plugin) }), metrics, calls }),
    onOutcome: ({ plugin, error }, skipped) => {
      const key = pluginKey(plugin);
      if (error === undefined) logger.debug({ plugin: key }, "loaded plugin");
      else if (skipped) logger.info({ plugin: key, reason: error.message }, "skip loading plugin");
      else logger.warn({ plugin: key, err: error }, "failed to load plugin");
    },
  });
}

function closePlugins(outcomes: readonly PluginOutcome[], logger: Logger): Promise<void> {
  return closeEach(outcomes, ({ plugin }, error) => logger.warn({ plugin: pluginKey(plugin), err: error }, "failed to close plugin"));
}
