import type { CallContext, ContentStore } from "@berth/api";
import { readBlob } from "@berth/content";
import { mediaTypes } from "@berth/remotes";

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
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

/** containerd's platform parsing: `linux/arm64/v8`, `linux/amd64`, or just an OS. */
export function parsePlatform(text: string): Platform {
  const [os = "", architecture = hostPlatform().architecture, variant] = text.split("/");
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** `os/architecture[/variant]`, as ctr prints platforms. */
export const platformText = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join("/");

/** Whether `platform` is one of `wanted` (a wanted platform without a variant takes any variant). */
export const platformMatches = (wanted: readonly Platform[], platform: Platform | undefined) =>
  platform !== undefined && wanted.some((p) => p.os === platform.os && p.architecture === platform.architecture && (p.variant === undefined || p.variant === platform.variant));

/** A JSON blob (manifest, index, config) from the content store. */
export async function readJson<T>(content: ContentStore, context: CallContext, digest: string): Promise<T> {
  return JSON.parse(Buffer.from(await readBlob(content, context, digest)).toString("utf8")) as T;
}
