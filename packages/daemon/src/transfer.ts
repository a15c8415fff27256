import {
  type Any,
  type CallContext,
  type StreamGetter,
  type TransferRequest,
  type Transferrer,
  bareTypeUrl,
  errorOfKind,
  invalidArgument,
  kindOf,
  notImplemented,
  requireNamespace,
} from "@berth/api";
import { transferTypes } from "@berth/api/proto";
import type { Client, PullOptions } from "@berth/client";
import { defaultSnapshotterFor } from "@berth/oci";
import { ProgressFrames, streamCredentials } from "./transfer-streams.js";

const ociRegistryType = `${transferTypes.protobufPackage}.OCIRegistry`;
const imageStoreType = `${transferTypes.protobufPackage}.ImageStore`;

interface MessageFns<T> {
  decode(input: Uint8Array): T;
}

function decodeAs<T>(any: Any, field: string, type: MessageFns<T>): T {
  try {
    return type.decode(any.value);
  } catch (error) {
    throw invalidArgument(`${field}: cannot decode ${any.typeUrl}: ${(error as Error).message}`);
  }
}

const platformOf = (p: { os: string; architecture: string; variant: string }) => ({
  os: p.os,
  architecture: p.architecture,
  ...(p.variant ? { variant: p.variant } : {}),
});

/** Where a pull's content is unpacked: the one snapshotter its unpack configurations name, or none. */
function unpackTarget(store: transferTypes.ImageStore, loaded: (name: string) => boolean): string | false {
  const names = new Set(store.unpacks.map((u) => u.snapshotter || defaultSnapshotterFor(u.platform?.os || undefined)));
  if (names.size === 0) return false;
  if (names.size > 1) throw notImplemented(`destination.unpacks: one snapshotter per transfer, not ${[...names].join(", ")}`);
  const [name] = names as unknown as [string];
  if (!loaded(name)) throw invalidArgument(`destination.unpacks: snapshotter ${JSON.stringify(name)} is not loaded`);
  return name;
}

/** What the daemon needs to pull in-process. */
export interface TransferDependencies {
  readonly streams: StreamGetter;
  /** A client of the daemon's own services, in-process (loaded on the first transfer). */
  readonly client: () => Promise<Client>;
  /** Whether a snapshotter of that name is loaded. */
  readonly hasSnapshotter: (name: string) => boolean;
  /** The pull of `@berth/client` (loaded with the client). */
  readonly pull: () => Promise<(client: Client, ref: string, options: PullOptions) => Promise<unknown>>;
}

/**
 * containerd's local transfer service (`io.containerd.transfer.v1` `local`) for the one transfer
 * ctr asks of it, a pull: OCIRegistry → ImageStore. The registry traffic, the content store, the
 * image record and the unpack all happen in the daemon, through the same client pull as ctr's
 * (layers fetched at once, each unpacked as soon as it and its parent are there), under a lease.
 */
export class LocalTransferService implements Transferrer {
  constructor(private readonly dependencies: TransferDependencies) {}

  async transfer(context: CallContext, request: TransferRequest): Promise<void> {
    const namespace = requireNamespace(context);
    const { source, destination } = request;
    if (source === undefined) throw invalidArgument("source: must be set");
    if (destination === undefined) throw invalidArgument("destination: must be set");
    if (bareTypeUrl(source.typeUrl) !== ociRegistryType || bareTypeUrl(destination.typeUrl) !== imageStoreType)
      throw notImplemented(`method Transfer not implemented for source ${source.typeUrl} to destination ${destination.typeUrl}`);
    const registry = decodeAs(source, "source", transferTypes.OCIRegistry);
    const store = decodeAs(destination, "destination", transferTypes.ImageStore);
    if (registry.reference === "") throw invalidArgument("source.reference: must be set");
    if (store.name === "") throw invalidArgument("destination.name: must be set");
    if (store.extraReferences.length > 0) throw notImplemented("destination.extra_references: not supported by this daemon");
    if (store.manifestLimit !== 0) throw notImplemented("destination.manifest_limit: not supported by this daemon");
    const resolver = registry.resolver;
    if (resolver !== undefined && resolver.defaultScheme !== "" && resolver.defaultScheme !== "http" && resolver.defaultScheme !== "https")
      throw invalidArgument(`source.resolver.default_scheme: ${JSON.stringify(resolver.defaultScheme)} is neither http nor https`);
    const unpack = unpackTarget(store, this.dependencies.hasSnapshotter);
    // Every stream is looked up before anything is written (NotFound when the client opened none).
    const { streams } = this.dependencies;
    const progressStream = request.options?.progressStream ? streams.get(context, request.options.progressStream) : undefined;
    const authStream = resolver?.authStream ? streams.get(context, resolver.authStream) : undefined;

    const ref = registry.reference;
    const described = `OCI Registry (${ref})`;
    const progress = progressStream === undefined ? undefined : new ProgressFrames(progressStream, ref);
    const [client, pull] = await Promise.all([this.dependencies.client(), this.dependencies.pull()]);
    let resolved = false;
    try {
      progress?.event(`Resolving from ${described}`);
      await pull(client.withNamespace(namespace), ref, {
        name: store.name,
        labels: store.labels,
        ...(store.platforms.length > 0 ? { platforms: store.platforms.map(platformOf) } : { allPlatforms: true }),
        allMetadata: store.allMetadata,
        unpack,
        ...(resolver?.defaultScheme === "http" ? { plainHttp: true } : {}),
        ...(resolver?.hostDir ? { hostsDir: resolver.hostDir } : {}),
        ...(resolver !== undefined && Object.keys(resolver.headers).length > 0 ? { headers: resolver.headers } : {}),
        ...(authStream !== undefined ? { credentials: streamCredentials(authStream, ref) } : {}),
        // A client that goes away (ctr killed, Ctrl-C) cancels the registry traffic, as containerd's context does.
        ...(context.signal !== undefined ? { signal: context.signal } : {}),
        resolved: () => {
          resolved = true;
          progress?.event(`Pulling from ${described}`);
          progress?.event("fetching image content", ref);
        },
        ...(progress !== undefined ? { progress: progress.listener } : {}),
      });
      progress?.event("saved", store.name);
      progress?.event(`Completed pull from ${described}`);
    } catch (error) {
      if (resolved) throw error;
      throw errorOfKind(kindOf(error), `failed to resolve image: ${(error as Error).message}`, { cause: error });
    } finally {
      progressStream?.close();
    }
  }
}
