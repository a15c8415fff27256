import { type CallContext, isKind, notFound } from "@berth/api";
import { type Descriptor, type Manifest, type Platform, isIndex, isManifest } from "@berth/oci";
import { type PushResult, type Pusher, Resolver, type ResolverOptions, parseReference } from "@berth/remotes";
import type { Client } from "./client.js";
import { runLimited } from "./concurrency.js";
import { distributionSourceKey, readJson, refKey, selectManifests } from "./image-formats.js";
import type { ProgressListener, TransferStatus } from "./progress.js";

export interface PushOptions extends ResolverOptions {
  /** Only these platforms' manifests of an index (default: all of them). */
  readonly platforms?: readonly Platform[];
  /** Told about every descriptor as it waits, uploads and finishes. */
  readonly progress?: ProgressListener;
  /** Blobs uploaded at once. */
  readonly concurrency?: number;
}

/** What a push sent, per descriptor, children before parents. */
export interface PushReport {
  readonly ref: string;
  readonly target: Descriptor;
  readonly pushed: readonly { readonly descriptor: Descriptor; readonly result: PushResult; readonly mountedFrom?: string }[];
}

interface Tree {
  /** Configs and layers, once each. */
  readonly blobs: Descriptor[];
  /** Manifests, then the index (if any): the order they must be pushed in. */
  readonly manifests: Descriptor[];
}

/** The descriptors under `target` for the chosen platforms, read from the content store. */
async function walk(client: Client, context: CallContext, target: Descriptor, platforms?: readonly Platform[]): Promise<Tree> {
  const { manifests } = await selectManifests(client.content, context, target, platforms);
  const blobs = new Map<string, Descriptor>();
  const ordered: Descriptor[] = [];
  for (const descriptor of manifests) {
    if (!isManifest(descriptor.mediaType)) continue;
    let manifest: Manifest;
    try {
      manifest = await readJson<Manifest>(client.content, context, descriptor.digest);
    } catch (error) {
      if (!isKind(error, "NotFound")) throw error;
      throw notFound(`manifest ${descriptor.digest} is not in the content store (a pull of other platforms only?): choose platforms to push`);
    }
    for (const blob of [manifest.config, ...manifest.layers]) if (!blobs.has(blob.digest)) blobs.set(blob.digest, blob);
    ordered.push(descriptor);
  }
  if (isIndex(target.mediaType)) ordered.push(target);
  return { blobs: [...blobs.values()], manifests: ordered };
}

/**
 * containerd's selectRepositoryMountCandidate: another repository of the same registry that the
 * blob came from (its `containerd.io/distribution.source.<host>` label), to mount it from.
 */
function mountCandidate(labels: Readonly<Record<string, string>>, host: string, repository: string): string | undefined {
  const sources = labels[distributionSourceKey(host)];
  return sources?.split(",").find((source) => source !== "" && source !== repository);
}

/**
 * Pushes an image from the content store to `ref` as ctr's push does: every blob first (by
 * cross-repository mount when the blob came from another repository of that registry), then the
 * manifests, then the index, the root tagged as `ref`. Content missing from the store fails the
 * push before anything is sent.
 */
export async function push(client: Client, ref: string, target: Descriptor, options: PushOptions = {}): Promise<PushReport> {
  const parsed = parseReference(ref);
  const context = client.context();
  const tree = await walk(client, context, target, options.platforms);
  const labels = new Map<string, Readonly<Record<string, string>>>();
  for (const descriptor of [...tree.blobs, ...tree.manifests]) {
    try {
      labels.set(descriptor.digest, (await client.content.info(context, descriptor.digest)).labels);
    } catch (error) {
      if (isKind(error, "NotFound")) throw notFound(`content ${descriptor.digest} (${descriptor.mediaType}) of ${ref} is not in the content store`);
      throw error;
    }
  }
  const resolver = new Resolver(options);
  const pushed: PushReport["pushed"][number][] = [];
  try {
    const pusher: Pusher = resolver.pusher(ref);
    const report = (descriptor: Descriptor, status: TransferStatus, offset: number, moved: number) =>
      options.progress?.({ ref: refKey(descriptor), descriptor, status, offset, total: descriptor.size, moved });
    for (const descriptor of [...tree.blobs, ...tree.manifests]) report(descriptor, "waiting", 0, 0);
    const send = async (descriptor: Descriptor, byDigest: boolean) => {
      const mountFrom =
        isManifest(descriptor.mediaType) || isIndex(descriptor.mediaType)
          ? undefined
          : mountCandidate(labels.get(descriptor.digest) ?? {}, parsed.hostname, parsed.repository);
      let moved = 0;
      const counted = async function* (): AsyncGenerator<Uint8Array> {
        for await (const chunk of client.content.read(context, descriptor.digest)) {
          moved += chunk.byteLength;
          report(descriptor, "uploading", moved, moved);
          yield chunk;
        }
      };
      report(descriptor, "uploading", 0, 0);
      const result = await pusher.push(descriptor, counted(), { ...(mountFrom ? { mountFrom } : {}), byDigest });
      report(descriptor, result === "pushed" ? "done" : result, descriptor.size, moved);
      pushed.push({ descriptor, result, ...(result === "mounted" && mountFrom ? { mountedFrom: mountFrom } : {}) });
    };
    await runLimited(tree.blobs, options.concurrency ?? 3, (blob) => send(blob, false));
    for (const manifest of tree.manifests) await send(manifest, manifest.digest !== target.digest);
  } finally {
    await resolver.close();
  }
  return { ref, target, pushed };
}
