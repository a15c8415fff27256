import { mediaTypes } from "@berth/oci";

/** containerd's resolver Accept header for HEAD/GET manifests by tag. */
export const manifestAccept = [mediaTypes.dockerManifest, mediaTypes.dockerManifestList, mediaTypes.ociManifest, mediaTypes.ociIndex, "*/*"].join(", ");

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

/** containerd refuses manifests larger than this (4·1048·1048 bytes) when resolving or fetching. */
export const maxManifestSize = 4 * 1048 * 1048;
