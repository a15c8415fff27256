import { type CallContext, type ContentStore, type ImageTarget, type Snapshotter, isKind, notFound } from "@berth/api";
import { readJson } from "./image-formats.js";
import { type Descriptor, hostManifest } from "./image-summary.js";
import { chainIds } from "./pull.js";

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
