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
  readonly config?: {
    readonly User?: string;
    readonly Env?: readonly string[] | null;
    readonly Entrypoint?: readonly string[] | null;
    readonly Cmd?: readonly string[] | null;
    readonly WorkingDir?: string;
    readonly Labels?: Readonly<Record<string, string>> | null;
    readonly StopSignal?: string;
  };
  readonly rootfs?: { readonly type?: string; readonly diff_ids?: readonly string[] };
}

/** An image's configuration on this host, and the chain ID its unpacked root filesystem has. */
export interface ResolvedConfig {
  readonly descriptor: Descriptor;
  readonly config: ImageConfig;
  /** "" for an image without layers. */
  readonly chainId: string;
}

/** Reads the configuration of the image's manifest for this host. NotFound when there is none. */
export async function imageConfig(content: ContentStore, context: CallContext, target: ImageTarget): Promise<ResolvedConfig> {
  const { manifest } = await hostManifest(content, context, target);
  if (manifest === undefined) throw notFound(`image ${target.digest}: no manifest for this platform`);
  const config = await readJson<ImageConfig>(content, context, manifest.config.digest);
  return { descriptor: manifest.config, config, chainId: chainIds(config.rootfs?.diff_ids ?? []).at(-1) ?? "" };
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
