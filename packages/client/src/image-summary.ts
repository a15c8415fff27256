import type { CallContext, ContentStore, ImageTarget } from "@berth/api";

const indexTypes = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);
const manifestTypes = new Set(["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"]);

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: { os: string; architecture: string; variant?: string };
}

async function readJson<T>(content: ContentStore, context: CallContext, digest: string): Promise<T> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of content.read(context, digest)) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as T;
}

const platformText = (p: { os: string; architecture: string; variant?: string | undefined }) => [p.os, p.architecture, p.variant].filter(Boolean).join("/");

/** The platform images default to on this host, as containerd names it. */
function hostPlatform(): { os: string; architecture: string } {
  const architecture = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" }[process.arch as string] ?? process.arch;
  return { os: "linux", architecture };
}

export interface ImageSummary {
  /** Bytes of the image for this host's platform (index, manifest, config, layers), as far as the store has them. */
  readonly size: number;
  /** Every platform the image offers, e.g. `linux/amd64`. */
  readonly platforms: readonly string[];
}

/** What `ctr images ls` shows of an image: its size on this platform and the platforms it has. */
export async function describeImage(content: ContentStore, context: CallContext, target: ImageTarget): Promise<ImageSummary> {
  let platforms: string[] = [];
  let size = target.size;
  try {
    let manifest: Descriptor = target;
    if (indexTypes.has(target.mediaType)) {
      const index = await readJson<{ manifests: Descriptor[] }>(content, context, target.digest);
      platforms = index.manifests.filter((m) => m.platform).map((m) => platformText(m.platform!));
      const host = hostPlatform();
      const chosen = index.manifests.find((m) => m.platform?.os === host.os && m.platform.architecture === host.architecture) ?? index.manifests[0];
      if (chosen === undefined) return { size, platforms };
      manifest = chosen;
      size += manifest.size;
    }
    if (!manifestTypes.has(manifest.mediaType)) return { size, platforms };
    const body = await readJson<{ config: Descriptor; layers: Descriptor[] }>(content, context, manifest.digest);
    size += body.config.size + body.layers.reduce((sum, layer) => sum + layer.size, 0);
    if (platforms.length === 0) {
      const config = await readJson<{ os: string; architecture: string; variant?: string }>(content, context, body.config.digest);
      platforms = [platformText(config)];
    }
  } catch {
    // Content not (yet) in the store: as ctr, count what was found.
  }
  return { size, platforms };
}
