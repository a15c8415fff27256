import { type CallContext, type Image, failedPrecondition, isKind } from "@berth/api";
import type { Client } from "./client.js";
import { type Descriptor, hostManifest } from "./image-summary.js";
import { readJson } from "./image-formats.js";
import type { ImageProcessConfig } from "./oci/opts.js";
import { chainIds, unpack } from "./unpack.js";

/** What running an image needs from it, for this host's platform. */
export interface ImageRunConfig {
  readonly image: Image;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  /** The OCI image config's `config` object: user, env, entrypoint, cmd, working dir, labels, stop signal. */
  readonly process: ImageProcessConfig;
  readonly diffIds: readonly string[];
  /** The chain ID of the whole root filesystem: the snapshot a container's is prepared from. */
  readonly chainId: string;
}

/** Reads the image's manifest for this host and its config (containerd's image.Config and RootFS). */
export async function readImageConfig(client: Client, context: CallContext, image: Image): Promise<ImageRunConfig> {
  const { manifest } = await hostManifest(client.content, context, image.target);
  if (manifest === undefined) throw failedPrecondition(`image ${JSON.stringify(image.name)}: no manifest for this platform`);
  const json = await readJson<{ config?: ImageProcessConfig; rootfs?: { diff_ids?: string[] } }>(client.content, context, manifest.config.digest);
  const diffIds = json.rootfs?.diff_ids ?? [];
  if (diffIds.length === 0) throw failedPrecondition(`image ${JSON.stringify(image.name)}: its config lists no layers`);
  return { image, config: manifest.config, layers: manifest.layers, process: json.config ?? {}, diffIds, chainId: chainIds(diffIds).at(-1)! };
}

/** Unpacks the image into `snapshotter` unless its top snapshot is already there (containerd's IsUnpacked + Unpack). */
export async function ensureUnpacked(client: Client, context: CallContext, image: ImageRunConfig, snapshotter: string): Promise<void> {
  try {
    await client.snapshotter(snapshotter).stat(context, image.chainId);
  } catch (error) {
    if (!isKind(error, "NotFound")) throw error;
    if (image.layers.length !== image.diffIds.length) throw failedPrecondition(`image ${JSON.stringify(image.image.name)}: ${image.layers.length} layers but ${image.diffIds.length} diff IDs`);
    await unpack(client, context, image.config, image.layers, image.diffIds, snapshotter);
  }
}

/** containerd's Image.IsUnpacked: the snapshot of the image's top chain ID exists in `snapshotter`. */
export async function isUnpacked(client: Client, context: CallContext, image: Image, snapshotter: string): Promise<boolean> {
  try {
    const { chainId } = await readImageConfig(client, context, image);
    await client.snapshotter(snapshotter).stat(context, chainId);
    return true;
  } catch (error) {
    if (isKind(error, "NotFound") || isKind(error, "FailedPrecondition")) return false;
    throw error;
  }
}
