/** OCI/Docker media types the registry client needs to tell manifests from blobs (containerd's images package). */
export const mediaTypes = {
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerSchema1Manifest: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
} as const;

/** containerd's resolver Accept header for HEAD/GET manifests by tag. */
export const manifestAccept = [
  mediaTypes.dockerManifest,
  mediaTypes.dockerManifestList,
  mediaTypes.ociManifest,
  mediaTypes.ociIndex,
  "*/*",
].join(", ");

const manifestTypes = new Set<string>([
  mediaTypes.dockerManifestList,
  mediaTypes.dockerManifest,
  mediaTypes.dockerSchema1Manifest,
  mediaTypes.ociIndex,
  mediaTypes.ociManifest,
]);

/** Manifests and indexes live under /manifests/ in the registry API; everything else under /blobs/. */
export function isManifestType(mediaType: string): boolean {
  return manifestTypes.has(mediaType);
}

/** An OCI content descriptor as it travels between registry, content store and image records. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly architecture: string; readonly os: string; readonly variant?: string };
}

/** containerd refuses manifests larger than this (4·1048·1048 bytes) when resolving or fetching. */
export const maxManifestSize = 4 * 1048 * 1048;
