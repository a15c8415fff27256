import { type CallContext, type ContentInfo, type Image, type ImageTarget, isKind, notFound } from "@berth/api";
import { readBlob } from "@berth/content";
import {
  type Descriptor,
  type Index,
  type Manifest,
  type Platform,
  defaultSnapshotterFor,
  hostPlatform,
  isIndex,
  platformMatches,
  platformText,
} from "@berth/oci";
import { type Fetcher, Resolver, type ResolverOptions, parseReference } from "@berth/remotes";
import type { Client } from "./client.js";
import { Turns } from "./concurrency.js";
import { childLabels, distributionSourceKey, refKey } from "./image-formats.js";
import { withLease } from "./lease.js";
import type { ProgressListener } from "./progress.js";
import { storeBlob } from "./store-blob.js";
import { unpack } from "./unpack.js";

export interface PullOptions extends ResolverOptions {
  /** Platforms to fetch from an index (default: this host's); ignored with `allPlatforms`. */
  readonly platforms?: readonly Platform[];
  readonly allPlatforms?: boolean;
  /**
   * Fetch the manifest and config of every platform of an index, the layers only of the chosen
   * platforms (containerd's WithAllMetadata, `ctr content fetch --all-metadata`).
   */
  readonly allMetadata?: boolean;
  /** As allMetadata, but no platform's layers (`--metadata-only`); a manifest that is the image itself keeps its layers. */
  readonly metadataOnly?: boolean;
  /** Unpack into this snapshotter once fetched (default: this platform's, "overlayfs" on Linux); `false` fetches only. */
  readonly unpack?: string | false;
  /** Told about every descriptor as it waits, moves bytes and finishes. */
  readonly progress?: ProgressListener;
  /** Told once the reference is resolved to its root descriptor. */
  readonly resolved?: (descriptor: Descriptor) => void;
  /** Layers fetched at once. */
  readonly concurrency?: number;
  /** Labels of the image record. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Name of the image record (default: the reference). */
  readonly name?: string;
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The blob's record in this namespace, if it has it. */
async function infoIfPresent(client: Client, context: CallContext, digest: string): Promise<ContentInfo | undefined> {
  try {
    return await client.content.info(context, digest);
  } catch (error) {
    if (!isKind(error, "NotFound")) throw error;
    return undefined;
  }
}

/** containerd's appendDistributionSourceLabel: the repositories of the registry a blob came from, sorted and joined. */
function sourceLabel(existing: ContentInfo | undefined, host: string, repository: string): Record<string, string> {
  const key = distributionSourceKey(host);
  let repositories = [repository];
  const current = existing?.labels[key];
  if (current) repositories = [...new Set([...current.split(","), repository])].sort();
  const value = repositories.join(",");
  return key.length + value.length > 4096 ? {} : { [key]: value };
}

/** Creates the image record, or replaces the target of an existing one, as ctr does. */
export async function recordImage(client: Client, name: string, target: ImageTarget, labels: Readonly<Record<string, string>> = {}): Promise<Image> {
  try {
    return await client.images.create(client.context(), { name, labels, target });
  } catch (error) {
    if (!isKind(error, "AlreadyExists")) throw error;
    return client.images.update(client.context(), { name, labels, target }, []);
  }
}

interface Loaded {
  readonly existing: ContentInfo | undefined;
  readonly bytes: Buffer;
}

interface Fetched {
  readonly manifests: { readonly descriptor: Descriptor; readonly manifest: Manifest }[];
}

/**
 * Told of each manifest as soon as its blobs start to be stored, with a promise of each blob's being
 * stored and of the config's bytes (read as fetched, not back from the store).
 */
type OnBlobs = (manifest: Manifest, stored: (descriptor: Descriptor) => Promise<void>, config: Promise<Uint8Array>) => void;

/**
 * Fetches the tree under `root` for the chosen platforms into the content store; the manifests come
 * back for unpacking. `onBlobs` may start using a manifest's blobs while the others are fetched.
 */
async function fetchTree(
  client: Client,
  context: CallContext,
  fetcher: Fetcher,
  root: Descriptor,
  ref: string,
  options: PullOptions,
  onBlobs?: OnBlobs,
): Promise<Fetched> {
  const parsed = parseReference(ref);
  const wanted = options.platforms ?? [hostPlatform()];
  /** A blob this namespace already has is read from it, as containerd's fetch handler does, not fetched again. */
  const load = async (descriptor: Descriptor): Promise<Loaded> => {
    const existing = await infoIfPresent(client, context, descriptor.digest);
    const bytes = existing !== undefined ? Buffer.from(await readBlob(client.content, context, descriptor.digest)) : await collect(fetcher.fetch(descriptor));
    return { existing, bytes };
  };
  const store = async (descriptor: Descriptor, labels: Record<string, string>, loaded?: Loaded, turn?: Promise<() => void>) => {
    const existing = loaded !== undefined ? loaded.existing : await infoIfPresent(client, context, descriptor.digest);
    const all = { ...sourceLabel(existing, parsed.hostname, parsed.repository), ...labels };
    // A blob this namespace already has gets no Write stream (opened only to hear AlreadyExists).
    let outcome: "done" | "exists" = "exists";
    if (existing === undefined) {
      outcome = await storeBlob(client, context, fetcher, descriptor, {
        labels: all,
        ...(loaded ? { bytes: loaded.bytes } : {}),
        ...(options.progress ? { progress: options.progress } : {}),
        ...(turn ? { turn } : {}),
      });
    } else {
      options.progress?.({ ref: refKey(descriptor), descriptor, status: "exists", offset: 0, total: descriptor.size, moved: 0 });
    }
    // A blob this namespace already had keeps its labels up to date, as containerd's handlers do.
    if (outcome === "exists" && Object.keys(all).length > 0)
      await client.content.update(
        context,
        { digest: descriptor.digest, labels: all },
        Object.keys(all).map((key) => `labels.${key}`),
      );
  };
  const waiting = (descriptor: Descriptor, parent?: Descriptor) =>
    options.progress?.({ ref: refKey(descriptor), descriptor, status: "waiting", offset: 0, total: descriptor.size, moved: 0, ...(parent ? { parent } : {}) });
  // As containerd's platform filters: a manifest named without a platform (the image itself) is always wanted whole.
  const withLayers = (m: Descriptor) => m.platform === undefined || (!options.metadataOnly && (options.allPlatforms || platformMatches(wanted, m.platform)));
  let manifestDescriptors: Descriptor[] = [root];
  if (isIndex(root.mediaType)) {
    waiting(root);
    const loaded = await load(root);
    const index = JSON.parse(loaded.bytes.toString("utf8")) as Index;
    manifestDescriptors = index.manifests.filter((m) => options.allMetadata || options.metadataOnly || withLayers(m));
    if (manifestDescriptors.length === 0) throw notFound(`${ref}: no match for platform ${wanted.map(platformText).join(", ")} in manifest ${root.digest}`);
    await store(root, childLabels(root.mediaType, index), loaded);
  }
  const manifests: Fetched["manifests"][number][] = [];
  for (const descriptor of manifestDescriptors) {
    waiting(descriptor, descriptor === root ? undefined : root);
    const loaded = await load(descriptor);
    const manifest = JSON.parse(loaded.bytes.toString("utf8")) as Manifest;
    const whole = withLayers(descriptor);
    const blobs = whole ? [manifest.config, ...manifest.layers] : [manifest.config];
    for (const blob of blobs) waiting(blob, descriptor);
    // The manifest goes into the store while its blobs are fetched (all under the pull's lease).
    const manifestStored = store(descriptor, childLabels(descriptor.mediaType, manifest), loaded);
    manifestStored.catch(() => undefined); // awaited below
    const stored = new Map<string, { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void }>();
    for (const blob of blobs) stored.set(blob.digest, Promise.withResolvers<void>());
    // Whoever waits for a blob hears of a failed fetch through the fetch itself.
    for (const { promise } of stored.values()) promise.catch(() => undefined);
    // Only an image's own platforms are unpacked; metadata-only manifests bring just their config.
    const config = Promise.withResolvers<Uint8Array>();
    config.promise.catch(() => undefined);
    if (whole) onBlobs?.(manifest, (blob) => stored.get(blob.digest)?.promise ?? Promise.resolve(), config.promise);
    try {
      // Every blob's writer opens at once; the download limit holds back only the layers' transfers, in
      // manifest order. The config, read whole before it is stored, takes no turn from a layer.
      const turns = new Turns(options.concurrency ?? 3);
      await Promise.all(
        blobs.map(async (blob) => {
          const turn = blob === manifest.config ? undefined : turns.take();
          try {
            if (blob !== manifest.config) await store(blob, {}, undefined, turn);
            else {
              const loaded = await load(blob).catch((error: unknown) => {
                config.reject(error);
                throw error;
              });
              config.resolve(loaded.bytes);
              await store(blob, {}, loaded, turn);
            }
          } finally {
            (await turn)?.();
          }
          stored.get(blob.digest)?.resolve();
        }),
      );
    } catch (error) {
      for (const { reject } of stored.values()) reject(error);
      await manifestStored.catch(() => undefined);
      throw error;
    }
    await manifestStored;
    if (whole) manifests.push({ descriptor, manifest });
  }
  return { manifests };
}

/**
 * Pulls `ref` as ctr 1.6 does, the registry traffic here and the rest through the daemon: under
 * a lease, every blob of the image for the chosen platforms goes into the content store with
 * containerd's GC and distribution labels (resuming what an interrupted pull left), the image
 * record is created (or updated), and the layers are unpacked into chain-ID-named snapshots,
 * each diff ID checked against the config.
 */
export async function pull(client: Client, ref: string, options: PullOptions = {}): Promise<Image> {
  const resolver = new Resolver(options);
  try {
    // The reference is resolved while the lease is created.
    const resolving = resolver.resolve(ref);
    resolving.catch(() => undefined); // awaited under the lease
    return await withLease(client, async (context) => {
      const { descriptor: root } = await resolving;
      options.resolved?.(root);
      // Each layer is unpacked as soon as it and its parent are there, as containerd 1.7's unpacker does.
      const snapshotter = options.unpack === false ? undefined : (options.unpack ?? defaultSnapshotterFor());
      const unpacking: Promise<void>[] = [];
      const unpackWhileFetching: OnBlobs = (manifest, stored, configBytes) => {
        const unpacked = (async () => {
          // The diff IDs come from the config's bytes as fetched: the first snapshots are prepared while
          // the config is stored (unpack waits for that only to label it).
          const config = JSON.parse(Buffer.from(await configBytes).toString("utf8")) as { rootfs?: { diff_ids?: string[] } };
          const diffIds = config.rootfs?.diff_ids ?? [];
          if (diffIds.length > 0 && diffIds.length === manifest.layers.length)
            await unpack(client, context, manifest.config, manifest.layers, diffIds, snapshotter!, stored);
        })();
        unpacked.catch(() => undefined); // awaited below, once the fetch is done
        unpacking.push(unpacked);
      };
      try {
        await fetchTree(client, context, resolver.fetcher(ref), root, ref, options, snapshotter === undefined ? undefined : unpackWhileFetching);
      } catch (error) {
        await Promise.allSettled(unpacking); // nothing of this pull goes on once it has failed
        throw error;
      }
      const target: ImageTarget = { mediaType: root.mediaType, digest: root.digest, size: root.size, annotations: root.annotations ?? {} };
      const image = await recordImage(client, options.name ?? ref, target, options.labels);
      for (const unpacked of unpacking) await unpacked;
      return image;
    });
  } finally {
    await resolver.close();
  }
}
