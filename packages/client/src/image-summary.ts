import { type CallContext, type ContentStore, type ImageTarget, isKind } from "@berth/api";
import { type Descriptor, type Manifest, type Platform, hostPlatform, isIndex, isManifest, platformMatches, platformText } from "@berth/oci";
import { runLimited } from "./concurrency.js";
import { readJson } from "./image-formats.js";

/** Reads and parses the JSON blob `digest`. */
type JsonReader = <T>(digest: string) => Promise<T>;

const readerOf =
  (content: ContentStore, context: CallContext): JsonReader =>
  (digest) =>
    readJson(content, context, digest);

/** The manifest an image means on this host: the target itself, or the index's entry for this platform. */
export async function hostManifest(
  content: ContentStore,
  context: CallContext,
  target: ImageTarget,
): Promise<{ descriptors: Descriptor[]; platforms: string[]; manifest: Manifest | undefined }> {
  return findHostManifest(readerOf(content, context), target);
}

async function findHostManifest(
  read: JsonReader,
  target: ImageTarget,
): Promise<{ descriptors: Descriptor[]; platforms: string[]; manifest: Manifest | undefined }> {
  const descriptors: Descriptor[] = [target];
  let platforms: string[] = [];
  let chosen: Descriptor | undefined = target;
  if (isIndex(target.mediaType)) {
    const index = await read<{ manifests: Descriptor[] }>(target.digest);
    platforms = index.manifests.filter((m) => m.platform).map((m) => platformText(m.platform!));
    chosen = index.manifests.find((m) => platformMatches([hostPlatform()], m.platform));
    if (chosen !== undefined) descriptors.push(chosen);
  }
  if (chosen === undefined || !isManifest(chosen.mediaType)) return { descriptors, platforms, manifest: undefined };
  return { descriptors, platforms, manifest: await read<Manifest>(chosen.digest) };
}

export interface ImageSummary {
  /** Bytes of the image for this host's platform (index, manifest, config, layers), as far as the store has them. */
  readonly size: number;
  /** Every platform the image offers, e.g. `linux/amd64`. */
  readonly platforms: readonly string[];
}

/** What `ctr images ls` shows of an image: its size on this platform and the platforms it has. */
export async function describeImage(content: ContentStore, context: CallContext, target: ImageTarget): Promise<ImageSummary> {
  return summarize(readerOf(content, context), target);
}

/**
 * describeImage for every target, in order, `concurrency` images at a time. A blob is read once
 * however many images share it: content is addressed by its digest, so a second read would return the same.
 */
export async function describeImages(content: ContentStore, context: CallContext, targets: readonly ImageTarget[], concurrency = 16): Promise<ImageSummary[]> {
  const reads = new Map<string, Promise<unknown>>();
  const readOnce: JsonReader = <T>(digest: string) => {
    let read = reads.get(digest);
    if (read === undefined) reads.set(digest, (read = readJson<T>(content, context, digest)));
    return read as Promise<T>;
  };
  const summaries: ImageSummary[] = new Array(targets.length);
  await runLimited([...targets.keys()], concurrency, async (index) => {
    summaries[index] = await summarize(readOnce, targets[index]!);
  });
  return summaries;
}

async function summarize(read: JsonReader, target: ImageTarget): Promise<ImageSummary> {
  let size = target.size;
  let platforms: string[] = [];
  try {
    const found = await findHostManifest(read, target);
    platforms = found.platforms;
    size = found.descriptors.reduce((sum, d) => sum + d.size, 0);
    if (found.manifest !== undefined) {
      size += found.manifest.config.size + found.manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
      if (platforms.length === 0) platforms = [platformText(await read<Platform>(found.manifest.config.digest))];
    }
  } catch {
    // Content not (yet) in the store: as ctr, count what was found.
  }
  return { size, platforms };
}

export interface ImageCheck {
  /** Whether the manifest for this host could be read. */
  readonly available: boolean;
  readonly required: readonly Descriptor[];
  readonly present: readonly Descriptor[];
  readonly missing: readonly Descriptor[];
}

/** containerd's images.Check: which of the manifest's config and layers the store holds. */
export async function checkImage(content: ContentStore, context: CallContext, target: ImageTarget): Promise<ImageCheck> {
  let manifest: Manifest | undefined;
  try {
    manifest = (await hostManifest(content, context, target)).manifest;
  } catch (error) {
    if (!isKind(error, "NotFound")) throw error;
  }
  if (manifest === undefined) return { available: false, required: [target], present: [], missing: [target] };
  const required = [manifest.config, ...manifest.layers];
  const present: Descriptor[] = [];
  const missing: Descriptor[] = [];
  for (const descriptor of required) {
    try {
      await content.info(context, descriptor.digest);
      present.push(descriptor);
    } catch (error) {
      if (!isKind(error, "NotFound")) throw error;
      missing.push(descriptor);
    }
  }
  return { available: true, required, present, missing };
}
