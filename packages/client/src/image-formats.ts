import type { CallContext, ContentStore } from "@berth/api";
import { readBlob } from "@berth/content";
import { type Descriptor, mediaTypes } from "@berth/remotes";

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
}

/** An image manifest (OCI or Docker schema 2: the fields Berth reads are the same). */
export interface Manifest {
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

/** An OCI index or Docker manifest list. */
export interface Index {
  readonly manifests: readonly Descriptor[];
}

/** An index (OCI) or manifest list (Docker): a manifest per platform. */
export const isIndex = (mediaType: string) => mediaType === mediaTypes.ociIndex || mediaType === mediaTypes.dockerManifestList;

/** A single-platform image manifest (OCI or Docker schema 2). */
export const isManifest = (mediaType: string) => mediaType === mediaTypes.ociManifest || mediaType === mediaTypes.dockerManifest;

const architectures: Readonly<Record<string, string>> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

/** This host's platform in containerd's names. */
export function hostPlatform(): Platform {
  return { os: "linux", architecture: architectures[process.arch] ?? process.arch };
}

/** containerd's platforms.Normalize: `x86_64` is amd64, `aarch64/v8` is arm64, `arm` means arm/v7, … */
export function normalizePlatform(platform: Platform): Platform {
  const os = platform.os.toLowerCase();
  let architecture = platform.architecture.toLowerCase();
  let variant = platform.variant?.toLowerCase() ?? "";
  if (architecture === "i386") architecture = "386";
  else if (architecture === "x86_64" || architecture === "x86-64" || architecture === "amd64") {
    architecture = "amd64";
    if (variant === "v1") variant = "";
  } else if (architecture === "aarch64" || architecture === "arm64") {
    architecture = "arm64";
    if (variant === "8" || variant === "v8") variant = "";
  } else if (architecture === "armhf") {
    architecture = "arm";
    variant = "v7";
  } else if (architecture === "armel") {
    architecture = "arm";
    variant = "v6";
  } else if (architecture === "arm") {
    if (variant === "" || variant === "7") variant = "v7";
    else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
  }
  return variant === "" ? { os, architecture } : { os, architecture, variant };
}

/** containerd's platform parsing: `linux/arm64/v8`, `linux/amd64`, or just an OS; normalized. */
export function parsePlatform(text: string): Platform {
  const [os = "", architecture = hostPlatform().architecture, variant] = text.split("/");
  return normalizePlatform(variant === undefined ? { os, architecture } : { os, architecture, variant });
}

/** `os/architecture[/variant]`, as ctr prints platforms. */
export const platformText = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join("/");

/** containerd's exact matcher: `platform` equals one of `wanted` once both are normalized. */
export function platformMatches(wanted: readonly Platform[], platform: Platform | undefined): boolean {
  if (platform === undefined) return false;
  const have = normalizePlatform(platform);
  return wanted.some((want) => {
    const w = normalizePlatform(want);
    return w.os === have.os && w.architecture === have.architecture && (w.variant ?? "") === (have.variant ?? "");
  });
}

/** A JSON blob (manifest, index, config) from the content store. */
export async function readJson<T>(content: ContentStore, context: CallContext, digest: string): Promise<T> {
  return JSON.parse(Buffer.from(await readBlob(content, context, digest)).toString("utf8")) as T;
}

/** containerd's remotes.MakeRefKey: the ingest ref and progress label of a descriptor, `layer-sha256:…`. */
export function refKey(descriptor: Pick<Descriptor, "mediaType" | "digest">): string {
  const type = descriptor.mediaType;
  const kind = isIndex(type) ? "index" : isManifest(type) ? "manifest" : type.includes("config") ? "config" : type.includes("layer") || type.includes("rootfs") ? "layer" : "unknown";
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
export async function selectManifests(content: ContentStore, context: CallContext, target: Descriptor, platforms?: readonly Platform[]): Promise<{ index?: Index; manifests: Descriptor[] }> {
  if (!isIndex(target.mediaType)) return { manifests: [target] };
  const index = await readJson<Index>(content, context, target.digest);
  const manifests = index.manifests.filter((m) => platforms === undefined || m.platform === undefined || platformMatches(platforms, m.platform));
  return { index, manifests };
}

/**
 * The key of containerd's `containerd.io/distribution.source.<host>` label for a registry: the host
 * without its port (Go's url.Hostname), as containerd's pull writes it and its push reads it.
 */
export function distributionSourceKey(registry: string): string {
  const host = registry.startsWith("[") ? registry.slice(1, registry.indexOf("]")) : registry.replace(/:\d*$/, "");
  return `containerd.io/distribution.source.${host}`;
}
