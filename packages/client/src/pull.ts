import { createHash, randomBytes } from "node:crypto";
import { type CallContext, type Image, type ImageTarget, failedPrecondition, isKind } from "@berth/api";
import { type Descriptor, type Fetcher, Resolver, type ResolverOptions, parseReference } from "@berth/remotes";
import type { Client } from "./client.js";
import { type Platform, hostPlatform, isIndex, isManifest, platformMatches, readJson } from "./image-formats.js";

export interface PullOptions extends ResolverOptions {
  /** Platforms to fetch from an index (default: this host's); ignored with `allPlatforms`. */
  readonly platforms?: readonly Platform[];
  readonly allPlatforms?: boolean;
  /** Unpack into this snapshotter once fetched (default: "overlayfs"); `false` fetches only. */
  readonly unpack?: string | false;
  /** Told about every descriptor as it starts and finishes. */
  readonly progress?: (event: { readonly descriptor: Descriptor; readonly status: "fetching" | "done" | "exists" }) => void;
  /** Layers fetched at once. */
  readonly concurrency?: number;
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The ref prefix containerd's fetch handler names ingests with. */
function ingestRef(descriptor: Descriptor): string {
  const kind = isIndex(descriptor.mediaType) ? "index" : isManifest(descriptor.mediaType) ? "manifest" : descriptor.mediaType.includes("config") ? "config" : descriptor.mediaType.includes("layer") || descriptor.mediaType.includes("rootfs") ? "layer" : "unknown";
  return `${kind}-${descriptor.digest}`;
}

/** Writes one fetched blob into the content store; a blob already there is skipped without fetching. */
async function store(client: Client, context: CallContext, fetcher: Fetcher, descriptor: Descriptor, labels: Record<string, string>, bytes?: Buffer): Promise<"done" | "exists"> {
  let writer;
  try {
    writer = await client.content.writer(context, { ref: ingestRef(descriptor), total: descriptor.size, expected: descriptor.digest });
  } catch (error) {
    if (isKind(error, "AlreadyExists")) return "exists";
    throw error;
  }
  try {
    const { offset } = await writer.status();
    if (offset === descriptor.size) {
      // Another namespace has it: the commit only records it here, no byte moves.
      await writer.commit(descriptor.size, descriptor.digest, labels);
      return "exists";
    }
    // What an earlier pull left is started over: the registry stream is verified as a whole.
    if (offset > 0) await writer.truncate(0);
    for await (const chunk of bytes === undefined ? fetcher.fetch(descriptor) : [bytes]) await writer.write(chunk);
    await writer.commit(descriptor.size, descriptor.digest, labels);
    return "done";
  } catch (error) {
    if (isKind(error, "AlreadyExists")) return "exists";
    throw error;
  } finally {
    await writer.close();
  }
}

async function runLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  }));
}

/** containerd's chain IDs: the first layer's diff ID, then sha256 of "<parent chain> <diff id>". */
export function chainIds(diffIds: readonly string[]): string[] {
  const chain: string[] = [];
  for (const diffId of diffIds) {
    const parent = chain.at(-1);
    chain.push(parent === undefined ? diffId : `sha256:${createHash("sha256").update(`${parent} ${diffId}`).digest("hex")}`);
  }
  return chain;
}

/**
 * Pulls `ref` as ctr 1.6 does, the registry traffic here and the rest through the daemon: under
 * a lease, every blob of the image for the chosen platforms goes into the content store with
 * containerd's GC and distribution labels, the image record is created (or updated), and the
 * layers are unpacked into chain-ID-named snapshots, each diff ID checked against the config.
 */
export async function pull(client: Client, ref: string, options: PullOptions = {}): Promise<Image> {
  const parsed = parseReference(ref);
  const resolver = new Resolver(options);
  const lease = await client.leases.create(client.context(), { id: "", labels: { "containerd.io/gc.expire": new Date(Date.now() + 86_400_000).toISOString() } });
  const context: CallContext = { namespace: client.namespace, lease: lease.id };
  try {
    const { descriptor: root } = await resolver.resolve(ref);
    const fetcher = resolver.fetcher(ref);
    const source = { [`containerd.io/distribution.source.${parsed.hostname}`]: parsed.repository };
    const wanted = options.platforms ?? [hostPlatform()];
    const manifests: Descriptor[] = [];
    if (isIndex(root.mediaType)) {
      const bytes = await collect(fetcher.fetch(root));
      const index = JSON.parse(bytes.toString("utf8")) as { manifests: Descriptor[] };
      const chosen = index.manifests.filter((m) => options.allPlatforms || platformMatches(wanted, m.platform));
      if (chosen.length === 0) throw failedPrecondition(`${ref}: no manifest for platform ${wanted.map((p) => `${p.os}/${p.architecture}`).join(", ")}`);
      const labels = { ...source, ...Object.fromEntries(index.manifests.map((m, i) => [`containerd.io/gc.ref.content.m.${i}`, m.digest])) };
      options.progress?.({ descriptor: root, status: "fetching" });
      const stored = await store(client, context, fetcher, root, labels, bytes);
      options.progress?.({ descriptor: root, status: stored });
      manifests.push(...chosen);
    } else {
      manifests.push(root);
    }
    const unpacks: { config: Descriptor; layers: Descriptor[] }[] = [];
    for (const manifestDescriptor of manifests) {
      const bytes = await collect(fetcher.fetch(manifestDescriptor));
      const manifest = JSON.parse(bytes.toString("utf8")) as { config: Descriptor; layers: Descriptor[] };
      const labels = {
        ...source,
        "containerd.io/gc.ref.content.config": manifest.config.digest,
        ...Object.fromEntries(manifest.layers.map((l, i) => [`containerd.io/gc.ref.content.l.${i}`, l.digest])),
      };
      options.progress?.({ descriptor: manifestDescriptor, status: "fetching" });
      const stored = await store(client, context, fetcher, manifestDescriptor, labels, bytes);
      options.progress?.({ descriptor: manifestDescriptor, status: stored });
      const blobs = [manifest.config, ...manifest.layers];
      await runLimited(blobs, options.concurrency ?? 3, async (descriptor) => {
        options.progress?.({ descriptor, status: "fetching" });
        const stored = await store(client, context, fetcher, descriptor, source);
        options.progress?.({ descriptor, status: stored });
      });
      unpacks.push(manifest);
    }
    const target: ImageTarget = { mediaType: root.mediaType, digest: root.digest, size: root.size, annotations: root.annotations ?? {} };
    let image: Image;
    try {
      image = await client.images.create(client.context(), { name: ref, labels: {}, target });
    } catch (error) {
      if (!isKind(error, "AlreadyExists")) throw error;
      image = await client.images.update(client.context(), { name: ref, labels: {}, target }, []);
    }
    if (options.unpack !== false) {
      for (const manifest of unpacks) {
        const config = await readJson<{ rootfs?: { diff_ids?: string[] } }>(client.content, context, manifest.config.digest);
        if (config.rootfs?.diff_ids?.length !== undefined && config.rootfs.diff_ids.length === manifest.layers.length) {
          await unpack(client, context, manifest.config, manifest.layers, config.rootfs.diff_ids, options.unpack ?? "overlayfs");
        }
      }
    }
    return image;
  } finally {
    await client.leases.delete(client.context(), lease.id).catch(() => undefined);
    resolver.close();
  }
}

const targetRefLabel = "containerd.io/snapshot.ref";

/** containerd's unpack: apply each layer onto its parent chain unless that chain is already there. */
export async function unpack(client: Client, context: CallContext, config: Descriptor, layers: readonly Descriptor[], diffIds: readonly string[], snapshotterName: string): Promise<string> {
  const snapshotter = client.snapshotter(snapshotterName);
  const chain = chainIds(diffIds);
  for (const [i, layer] of layers.entries()) {
    const chainId = chain[i]!;
    const parent = i === 0 ? "" : chain[i - 1]!;
    try {
      await snapshotter.stat(context, chainId);
      continue;
    } catch (error) {
      if (!isKind(error, "NotFound")) throw error;
    }
    const key = `extract-${process.hrtime.bigint()}-${randomBytes(6).toString("base64url")} ${chainId}`;
    let mounts;
    try {
      // The label lets the daemon link a snapshot it verified in another namespace instead (AlreadyExists).
      mounts = await snapshotter.prepare(context, key, parent, { [targetRefLabel]: chainId });
    } catch (error) {
      if (!isKind(error, "AlreadyExists")) throw error;
    }
    if (mounts !== undefined) {
      try {
        const applied = await client.diff.apply(context, layer, mounts);
        if (applied.digest !== diffIds[i]) throw failedPrecondition(`layer ${layer.digest}: wrong diff ID ${applied.digest}, expected ${diffIds[i]}`);
        await snapshotter.commit(context, chainId, key);
      } catch (error) {
        await snapshotter.remove(context, key).catch(() => undefined);
        if (!isKind(error, "AlreadyExists")) throw error;
      }
    }
    await client.content.update(context, { digest: layer.digest, labels: { "containerd.io/uncompressed": diffIds[i]! } }, ["labels.containerd.io/uncompressed"]);
  }
  const top = chain.at(-1)!;
  await client.content.update(context, { digest: config.digest, labels: { [`containerd.io/gc.ref.snapshot.${snapshotterName}`]: top } }, [`labels.containerd.io/gc.ref.snapshot.${snapshotterName}`]);
  return top;
}
