/** OCI and Docker schema 2 media types (containerd's `images` package and the OCI image spec). */
export const mediaTypes = {
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerSchema1Manifest: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayer: "application/vnd.docker.image.rootfs.foreign.diff.tar",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociNondistributableLayer: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  ociNondistributableLayerGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  ociNondistributableLayerZstd: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
} as const;

/** An index (OCI) or manifest list (Docker): a manifest per platform. */
export const isIndex = (mediaType: string): boolean => mediaType === mediaTypes.ociIndex || mediaType === mediaTypes.dockerManifestList;

/** A single-platform image manifest (OCI or Docker schema 2). */
export const isManifest = (mediaType: string): boolean => mediaType === mediaTypes.ociManifest || mediaType === mediaTypes.dockerManifest;

/** How a layer's tar is compressed; "unknown" for Docker's plain layer type, which images also use for gzip. */
export type LayerCompression = "uncompressed" | "gzip" | "zstd" | "unknown";

const dockerLayers = new Set<string>([mediaTypes.dockerLayer, mediaTypes.dockerForeignLayer]);
const dockerGzipLayers = new Set<string>([mediaTypes.dockerLayerGzip, mediaTypes.dockerForeignLayerGzip]);
const ociLayers = new Set<string>([mediaTypes.ociLayer, mediaTypes.ociNondistributableLayer]);

/**
 * containerd's images.DiffCompression: how a layer of `mediaType` is compressed, or undefined when
 * the media type is not a layer. A suffix after `+` that is not the compression (`+encrypted`)
 * wraps the layer; a wrapped Docker layer is then reported uncompressed, as containerd does.
 */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  const [base = "", ...suffixes] = mediaType.split("+");
  const ext = suffixes.sort();
  if (dockerLayers.has(base)) return ext.length > 0 ? "uncompressed" : "unknown";
  if (dockerGzipLayers.has(base)) return ext.length > 0 ? "uncompressed" : "gzip";
  if (!ociLayers.has(base)) return undefined;
  const last = ext.at(-1);
  return last === "gzip" || last === "zstd" ? last : "uncompressed";
}

/** A layer of an image (any compression, foreign or not). */
export const isLayer = (mediaType: string): boolean => layerCompression(mediaType) !== undefined;

/** A foreign (Docker) or non-distributable (OCI) layer: registries may not hold it, pushes skip it. */
export const isForeignLayer = (mediaType: string): boolean =>
  mediaType.startsWith(mediaTypes.dockerForeignLayer) || mediaType.startsWith(mediaTypes.ociNondistributableLayer);
