import type { CallContext, ContentStore } from "@berth/api";
import { readBlob } from "@berth/content";
import { type Descriptor, type Index, type Manifest, type Platform, anyPlatform, filterManifests, isIndex, isManifest } from "@berth/oci";

/** A JSON blob (manifest, index, config) from the content store. */
export async function readJson<T>(content: ContentStore, context: CallContext, digest: string): Promise<T> {
  return JSON.parse(Buffer.from(await readBlob(content, context, digest)).toString("utf8")) as T;
}

/** containerd's remotes.MakeRefKey: the ingest ref and progress label of a descriptor, `layer-sha256:…`. */
export function refKey(descriptor: Pick<Descriptor, "mediaType" | "digest">): string {
  const type = descriptor.mediaType;
  const kind = isIndex(type)
    ? "index"
    : isManifest(type)
      ? "manifest"
      : type.includes("config")
        ? "config"
        : type.includes("layer") || type.includes("rootfs")
          ? "layer"
          : "unknown";
  return `${kind}-${descriptor.digest}`;
}

/** The containerd.io/gc.ref.content.* labels that keep a manifest's or index's children alive. */
export function childLabels(mediaType: string, parsed: Partial<Manifest & Index>): Record<string, string> {
  if (isIndex(mediaType)) return Object.fromEntries((parsed.manifests ?? []).map((m, i) => [`containerd.io/gc.ref.content.m.${i}`, m.digest]));
  if (!isManifest(mediaType) || parsed.config === undefined) return {};
  return {
    "containerd.io/gc.ref.content.config": parsed.config.digest,
    ...Object.fromEntries((parsed.layers ?? []).map((l, i) => [`containerd.io/gc.ref.content.l.${i}`, l.digest])),
  };
}

/**
 * The manifests of an image for `platforms` (all when undefined): the target itself, or the index
 * entries that match (entries without a platform are kept, as containerd's FilterPlatforms does).
 */
export async function selectManifests(
  content: ContentStore,
  context: CallContext,
  target: Descriptor,
  platforms?: readonly Platform[],
): Promise<{ index?: Index; manifests: Descriptor[] }> {
  if (!isIndex(target.mediaType)) return { manifests: [target] };
  const index = await readJson<Index>(content, context, target.digest);
  return { index, manifests: platforms === undefined ? [...index.manifests] : filterManifests(index, anyPlatform(...platforms)) };
}

/**
 * The key of containerd's `containerd.io/distribution.source.<host>` label for a registry: the host
 * without its port (Go's url.Hostname), as containerd's pull writes it and its push reads it.
 */
export function distributionSourceKey(registry: string): string {
  const host = registry.startsWith("[") ? registry.slice(1, registry.indexOf("]")) : registry.replace(/:\d*$/, "");
  return `containerd.io/distribution.source.${host}`;
}
