import { type CallContext, type Image, failedPrecondition, isKind } from "@berth/api";
import type { Platform } from "@berth/oci";
import type { Client } from "./client.js";
import { type ImageRootfs, imageRootfs, unpack } from "./unpack.js";

/** What running an image needs from it, for this host's platform. */
export interface ImageRunConfig extends ImageRootfs {
  readonly image: Image;
}

/**
 * The image's manifest for `platform` (default: this host's) and its config (containerd's
 * image.Config and RootFS); an image without layers cannot run.
 */
export async function readImageConfig(client: Client, context: CallContext, image: Image, platform?: Platform): Promise<ImageRunConfig> {
  const rootfs = await imageRootfs(client, context, image.target, platform);
  if (rootfs.diffIds.length === 0) throw failedPrecondition(`image ${JSON.stringify(image.name)}: its config lists no layers`);
  return { ...rootfs, image };
}

/** Unpacks the image into `snapshotter` unless its top snapshot is already there (containerd's IsUnpacked + Unpack). */
export async function ensureUnpacked(client: Client, context: CallContext, image: ImageRunConfig, snapshotter: string): Promise<void> {
  try {
    await client.snapshotter(snapshotter).stat(context, image.chainId);
  } catch (error) {
    if (!isKind(error, "NotFound")) throw error;
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
