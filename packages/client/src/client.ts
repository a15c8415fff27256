import { type CallContext, unavailable } from "@berth/api";
import * as containersV1 from "@berth/api/gen/containerd/services/containers/v1/containers";
import * as contentV1 from "@berth/api/gen/containerd/services/content/v1/content";
import * as diffV1 from "@berth/api/gen/containerd/services/diff/v1/diff";
import * as eventsV1 from "@berth/api/gen/containerd/services/events/v1/events";
import * as healthV1 from "@berth/api/gen/grpc/health/v1/health";
import * as imagesV1 from "@berth/api/gen/containerd/services/images/v1/images";
import * as introspectionV1 from "@berth/api/gen/containerd/services/introspection/v1/introspection";
import * as leasesV1 from "@berth/api/gen/containerd/services/leases/v1/leases";
import * as namespacesV1 from "@berth/api/gen/containerd/services/namespaces/v1/namespaces";
import * as snapshotsV1 from "@berth/api/gen/containerd/services/snapshots/v1/snapshots";
import * as tasksV1 from "@berth/api/gen/containerd/services/tasks/v1/tasks";
import * as versionV1 from "@berth/api/gen/containerd/services/version/v1/version";
import { type CallOptions, type ServiceClient, type ServiceDefinition, createServiceClient, grpc } from "@berth/api/services";
import { defaultSnapshotterFor } from "@berth/oci";
import { grpcTarget, resolveAddress, resolveNamespace } from "./address.js";
import { ContainersProxy } from "./containers.js";
import { ContentProxy } from "./content.js";
import { DiffProxy } from "./diff.js";
import { EventsProxy } from "./events.js";
import { ImagesProxy } from "./images.js";
import { LeasesProxy } from "./leases.js";
import { NamespacesProxy } from "./namespaces.js";
import { SnapshotsProxy } from "./snapshots.js";
import { TasksProxy } from "./tasks.js";

export interface ClientOptions {
  /** Socket path or `unix://` URL; default: CONTAINERD_ADDRESS, else /run/berth/berthd.sock. */
  readonly address?: string;
  /** Default namespace of calls; default: CONTAINERD_NAMESPACE, else "default". */
  readonly namespace?: string;
  /** How long `connect` waits for the daemon, as ctr's --connect-timeout (default 10 s). */
  readonly connectTimeoutMs?: number;
}

/** containerd's limit, so that large listings pass both ways. */
const maxMessageSize = 16 << 20;

/**
 * Where a Client's calls go: a typed client of a service, calls defaulting to `defaults`. Over a
 * gRPC channel for a remote daemon; straight to the service's handlers inside berthd (`Client.local`).
 */
export type ServiceResolver = <D extends ServiceDefinition>(definition: D, defaults: CallOptions) => ServiceClient<D>;

export type PluginInfo = introspectionV1.Plugin;
export type ServerInfo = introspectionV1.ServerResponse;
export type VersionInfo = versionV1.VersionResponse;

/**
 * A connection to berthd or to a stock containerd. Every call carries the client's namespace
 * unless its context names another.
 */
export class Client {
  readonly namespaces: NamespacesProxy;
  readonly events: EventsProxy;
  readonly content: ContentProxy;
  readonly images: ImagesProxy;
  readonly containers: ContainersProxy;
  readonly tasks: TasksProxy;
  readonly leases: LeasesProxy;
  readonly diff: DiffProxy;
  readonly #introspection: ServiceClient<typeof introspectionV1.IntrospectionDefinition>;
  readonly #version: ServiceClient<typeof versionV1.VersionDefinition>;
  readonly #health: ServiceClient<typeof healthV1.HealthDefinition>;

  private constructor(
    readonly address: string,
    readonly namespace: string,
    private readonly resolve: ServiceResolver,
    private readonly release: () => void,
  ) {
    this.namespaces = new NamespacesProxy(this.service(namespacesV1.NamespacesDefinition));
    this.events = new EventsProxy(this.service(eventsV1.EventsDefinition));
    this.content = new ContentProxy(this.service(contentV1.ContentDefinition));
    this.images = new ImagesProxy(this.service(imagesV1.ImagesDefinition));
    this.containers = new ContainersProxy(this.service(containersV1.ContainersDefinition));
    this.tasks = new TasksProxy(this.service(tasksV1.TasksDefinition));
    this.leases = new LeasesProxy(this.service(leasesV1.LeasesDefinition));
    this.diff = new DiffProxy(this.service(diffV1.DiffDefinition));
    this.#introspection = this.service(introspectionV1.IntrospectionDefinition);
    this.#version = this.service(versionV1.VersionDefinition);
    this.#health = this.service(healthV1.HealthDefinition, {});
  }

  /** Dials the daemon and waits until the connection is up. */
  static async connect(options: ClientOptions = {}): Promise<Client> {
    const address = resolveAddress(options.address);
    const channel = new grpc.Client(grpcTarget(address), grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": maxMessageSize,
      "grpc.max_send_message_length": maxMessageSize,
      // The authority of a unix socket is meaningless; Go clients send "localhost" too.
      "grpc.default_authority": "localhost",
      // No channelz registry, traces or call counters: nothing here serves channelz.
      "grpc.enable_channelz": 0,
    });
    const timeout = options.connectTimeoutMs ?? 10_000;
    try {
      await new Promise<void>((resolve, reject) => channel.waitForReady(Date.now() + timeout, (error) => (error ? reject(error) : resolve())));
    } catch {
      channel.close();
      throw unavailable(`failed to dial ${JSON.stringify(address)}: no daemon answered within ${timeout} ms`);
    }
    return new Client(
      address,
      resolveNamespace(options.namespace),
      (definition, defaults) => createServiceClient(definition, channel, defaults),
      () => channel.close(),
    );
  }

  /**
   * A client whose calls run in this process, through `resolve` (berthd's plugins use the daemon's
   * own services this way: the same pull, unpack, container and task code, no socket).
   */
  static local(resolve: ServiceResolver, options: { namespace: string; address?: string }): Client {
    return new Client(options.address ?? "", options.namespace, resolve, () => undefined);
  }

  /** The same services, calls defaulting to another namespace. */
  withNamespace(namespace: string): Client {
    return new Client(this.address, namespace, this.resolve, () => undefined);
  }

  /**
   * A typed client of any service on this connection. Calls whose options name no namespace use
   * `defaults.namespace`: the client's own unless given (`{}` sends none, to test the daemon's
   * answer to calls without one).
   */
  service<D extends ServiceDefinition>(definition: D, defaults: CallOptions = { namespace: this.namespace }): ServiceClient<D> {
    return this.resolve(definition, defaults);
  }

  /** The context of a call in `namespace` (default: the client's). */
  context(namespace = this.namespace): CallContext {
    return { namespace };
  }

  /** A snapshotter of the daemon, by name (default: this platform's, "overlayfs" on Linux). */
  snapshotter(name = defaultSnapshotterFor()): SnapshotsProxy {
    return new SnapshotsProxy(this.service(snapshotsV1.SnapshotsDefinition), name);
  }

  version(): Promise<VersionInfo> {
    return this.#version.version({});
  }

  /**
   * Whether the daemon answers its health service with SERVING, as the Go client's IsServing: it
   * waits for the connection (a restarting daemon) until `deadline` or `signal`, and fails with
   * the daemon's error (NotImplemented from a daemon without the service).
   */
  async isServing(options: { deadline?: Date | number; signal?: AbortSignal } = {}): Promise<boolean> {
    const { status } = await this.#health.check({ service: "" }, { ...options, waitForReady: true });
    return status === healthV1.HealthCheckResponse_ServingStatus.SERVING;
  }

  server(): Promise<ServerInfo> {
    return this.#introspection.server({});
  }

  async plugins(filters: readonly string[] = []): Promise<PluginInfo[]> {
    return (await this.#introspection.plugins({ filters: [...filters] })).plugins;
  }

  close(): void {
    this.release();
  }
}
