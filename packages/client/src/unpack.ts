import { randomBytes } from "node:crypto";
import { type CallContext, type ImageTarget, failedPrecondition, isKind, notFound } from "@berth/api";
import {
  type Descriptor,
  type ImageConfig,
  type Manifest,
  type Platform,
  chainId,
  chainIds,
  defaultSnapshotterFor,
  hostPlatform,
  isManifest,
  platformText,
} from "@berth/oci";
import type { Client } from "./client.js";
import { readJson, selectManifests } from "./image-formats.js";
import { withLease } from "./lease.js";
import type { ImageProcessConfig } from "./oci/opts.js";

const targetRefLabel = "containerd.io/snapshot.ref";

/**
 * containerd's unpack: apply each layer onto its parent chain unless that chain is already there.
 * `layerStored`, when given, is awaited before a layer (or the config) is used: a pull unpacks each
 * layer as soon as it and its parent are there, while the later layers are still being fetched. A layer's
 * snapshot is prepared as soon as its parent is committed, before the layer has arrived, and the
 * layers' labels are written beside the chain, not in it: only the applies take turns.
 */
export async function unpack(
  client: Client,
  context: CallContext,
  config: Descriptor,
  layers: readonly Descriptor[],
  diffIds: readonly string[],
  snapshotterName: string,
  layerStored?: (layer: Descriptor) => Promise<void>,
): Promise<string> {
  const snapshotter = client.snapshotter(snapshotterName);
  const chain = chainIds(diffIds);
  const labelled: Promise<unknown>[] = [];
  try {
    for (const [i, layer] of layers.entries()) {
      const chainId = chain[i]!;
      const parent = i === 0 ? "" : chain[i - 1]!;
      const present = await snapshotter.stat(context, chainId).then(
        () => true,
        (error: unknown) => (isKind(error, "NotFound") ? false : Promise.reject(error)),
      );
      let mounts;
      if (!present) {
        const key = `extract-${process.hrtime.bigint()}-${randomBytes(6).toString("base64url")} ${chainId}`;
        try {
          // The label lets the daemon link a snapshot it verified in another namespace instead (AlreadyExists).
          mounts = await snapshotter.prepare(context, key, parent, { [targetRefLabel]: chainId });
        } catch (error) {
          if (!isKind(error, "AlreadyExists")) throw error;
        }
        if (mounts !== undefined) {
          try {
            await layerStored?.(layer);
            const applied = await client.diff.apply(context, layer, mounts);
            if (applied.digest !== diffIds[i]) throw failedPrecondition(`layer ${layer.digest}: wrong diff ID ${applied.digest}, expected ${diffIds[i]}`);
            await snapshotter.commit(context, chainId, key);
          } catch (error) {
            await snapshotter.remove(context, key).catch(() => undefined);
            if (!isKind(error, "AlreadyExists")) throw error;
          }
        }
      }
      // A layer whose chain was there is still one of this image: it must be stored before it is labelled.
      if (mounts === undefined) await layerStored?.(layer);
      if (present) continue;
      const label = client.content.update(context, { digest: layer.digest, labels: { "containerd.io/uncompressed": diffIds[i]! } }, [
        "labels.containerd.io/uncompressed",
      ]);
      label.catch(() => undefined); // awaited below
      labelled.push(label);
    }
  } finally {
    await Promise.allSettled(labelled);
  }
  await Promise.all(labelled);
  const top = chain.at(-1)!;
  await layerStored?.(config);
  await client.content.update(context, { digest: config.digest, labels: { [`containerd.io/gc.ref.snapshot.${snapshotterName}`]: top } }, [
    `labels.containerd.io/gc.ref.snapshot.${snapshotterName}`,
  ]);
  return top;
}

/** A platform's manifest of an image, its config and what unpacking it yields. */
export interface ImageRootfs {
  readonly platform: Platform;
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly diffIds: readonly string[];
  /** The chain ID of the top layer: the name of the image's committed snapshot. */
  readonly chainId: string;
  /** The config's `config` object: user, env, entrypoint, cmd, working dir, labels, stop signal. */
  readonly process: ImageProcessConfig;
}

/**
 * The rootfs of `target` for `platform` (default: this host's), read from the content store:
 * the index entry for the platform (or the only manifest), its layers and diff IDs.
 */
export async function imageRootfs(
  client: Client,
  context: CallContext,
  target: ImageTarget | Descriptor,
  platform: Platform = hostPlatform(),
): Promise<ImageRootfs> {
  const { manifests } = await selectManifests(client.content, context, target, [platform]);
  const manifestDescriptor = manifests.find((m) => isManifest(m.mediaType));
  if (manifestDescriptor === undefined) throw notFound(`image ${target.digest}: no manifest for platform ${platformText(platform)}`);
  const manifest = await readJson<Manifest>(client.content, context, manifestDescriptor.digest);
  const config = await readJson<ImageConfig>(client.content, context, manifest.config.digest);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length)
    throw failedPrecondition(`image config ${manifest.config.digest}: ${diffIds.length} diff IDs for ${manifest.layers.length} layers`);
  const actual =
    config.os !== undefined && config.architecture !== undefined
      ? { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) }
      : platform;
  return {
    platform: actual,
    manifest: manifestDescriptor,
    config: manifest.config,
    layers: manifest.layers,
    diffIds,
    chainId: chainId(diffIds),
    process: config.config ?? {},
  };
}

/**
 * Whether `rootfs` is already unpacked into `snapshotter` as an unpack leaves it: its top chain is
 * committed (so are its parents) and its config references that chain for the GC.
 */
async function alreadyUnpacked(client: Client, context: CallContext, rootfs: ImageRootfs, snapshotterName: string): Promise<boolean> {
  const notFoundAsUndefined = (error: unknown) => (isKind(error, "NotFound") ? undefined : Promise.reject(error));
  const [config, top] = await Promise.all([
    client.content.info(context, rootfs.config.digest).catch(notFoundAsUndefined),
    client.snapshotter(snapshotterName).stat(context, rootfs.chainId).catch(notFoundAsUndefined),
  ]);
  return top?.kind === "committed" && config?.labels[`containerd.io/gc.ref.snapshot.${snapshotterName}`] === rootfs.chainId;
}

/**
 * containerd's Image.Unpack for one platform: the image's layers into `snapshotter`, under a lease; returns the rootfs.
 * An image a pull has just unpacked (its top chain committed and referenced) is only read: no lease, no write.
 */
export async function unpackImage(
  client: Client,
  target: ImageTarget | Descriptor,
  options: { platform?: Platform; snapshotter?: string } = {},
): Promise<ImageRootfs> {
  const snapshotter = options.snapshotter ?? defaultSnapshotterFor();
  const known = await imageRootfs(client, client.context(), target, options.platform);
  if (known.layers.length === 0 || (await alreadyUnpacked(client, client.context(), known, snapshotter))) return known;
  return withLease(client, async (context) => {
    await unpack(client, context, known.config, known.layers, known.diffIds, snapshotter);
    return known;
  });
}
