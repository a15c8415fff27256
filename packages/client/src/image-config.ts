import { type CallContext, type ContentStore, type Image, type ImageTarget, type Snapshotter, failedPrecondition, isKind, notFound } from "@berth/api";
import type { Client } from "./client.js";
import { readJson } from "./image-formats.js";
import { type Descriptor, hostManifest } from "./image-summary.js";
import type { ImageProcessConfig } from "./oci/opts.js";
import { chainIds, unpack } from "./pull.js";

/** The parts of an OCI image configuration that running and unpacking read. */
export interface ImageConfig {
  readonly architecture?: string;
  readonly os?: string;
  readonly config?: ImageProcessConfig;
  readonly rootfs?: { readonly type?: string; readonly diff_ids?: readonly string[] };
}

/** An image's configuration on this host, and the chain ID its unpacked root filesystem has. */
export interface ResolvedConfig {
  readonly descriptor: Descriptor;
  readonly config: ImageConfig;
  /** "" for an image without layers. */
  readonly chainId: string;
  /** The layers of the manifest, for unpacking. */
  readonly layers: readonly Descriptor[];
}

/** Reads the configuration of the image's manifest for this host. NotFound when there is none. */
export async function imageConfig(content: ContentStore, context: CallContext, target: ImageTarget): Promise<ResolvedConfig> {
  const { manifest } = await hostManifest(content, context, target);
  if (manifest === undefined) throw notFound(`image ${target.digest}: no manifest for this platform`);
  const config = await readJson<ImageConfig>(content, context, manifest.config.digest);
  return { descriptor: manifest.config, config, chainId: chainIds(config.rootfs?.diff_ids ?? []).at(-1) ?? "", layers: manifest.layers };
}

/** containerd's Image.IsUnpacked: the snapshot of the image's top chain ID exists. */
export async function isUnpacked(content: ContentStore, snapshotter: Snapshotter, context: CallContext, target: ImageTarget): Promise<boolean> {
  try {
    const { chainId } = await imageConfig(content, context, target);
    await snapshotter.stat(context, chainId);
    return true;
  } catch (error) {
    if (isKind(error, "NotFound")) return false;
    throw error;
  }
}

/** What running an image needs from it, for this host's platform. */
export interface ImageRunConfig {
  readonly image: Image;
  readonly resolved: ResolvedConfig;
  /** The image config's `config` object: user, env, entrypoint, cmd, working dir, labels, stop signal. */
  readonly process: ImageProcessConfig;
  /** The chain ID of the whole root filesystem: the snapshot a container's is prepared from. */
  readonly chainId: string;
}

/** Reads what running `image` on this host needs (containerd's image.Config and RootFS). */
export async function readImageConfig(client: Client, context: CallContext, image: Image): Promise<ImageRunConfig> {
  const resolved = await imageConfig(client.content, context, image.target);
  if (resolved.chainId === "") throw failedPrecondition(`image ${JSON.stringify(image.name)}: its config lists no layers`);
  return { image, resolved, process: resolved.config.config ?? {}, chainId: resolved.chainId };
}

/** Unpacks the image into `snapshotter` unless its top snapshot is already there (containerd's IsUnpacked + Unpack). */
export async function ensureUnpacked(client: Client, context: CallContext, image: ImageRunConfig, snapshotter: string): Promise<void> {
  if (await isUnpacked(client.content, client.snapshotter(snapshotter), context, image.image.target)) return;
  const { descriptor, layers, config } = image.resolved;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (layers.length !== diffIds.length) throw failedPrecondition(`image ${JSON.stringify(image.image.name)}: ${layers.length} layers but ${diffIds.length} diff IDs`);
  await unpack(client, context, descriptor, layers, diffIds, snapshotter);
}
