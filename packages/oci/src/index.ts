/**
 * @berth/oci: the image model of containerd 1.6: descriptors, manifests, indexes and image
 * configs; media types and layer compression; platforms (parse, format, normalize, match and
 * prefer); chain IDs; the default snapshotter of a platform. No runtime dependencies. The media
 * types of container checkpoints stay with the checkpoint contract in @berth/api.
 */
export type { Descriptor, ImageConfig, ImageRunDefaults, Index, Manifest } from "./descriptor.js";
export type { LayerCompression } from "./media-types.js";
export { isForeignLayer, isIndex, isLayer, isManifest, layerCompression, mediaTypes } from "./media-types.js";
export type { Platform, PlatformMatcher } from "./platform.js";
export {
  PlatformSyntaxError,
  allPlatforms,
  anyPlatform,
  defaultPlatformMatcher,
  hostPlatform,
  normalizePlatform,
  onlyPlatform,
  onlyPlatformStrict,
  orderedPlatforms,
  parsePlatform,
  platformMatches,
  platformText,
} from "./platform.js";
export { chooseManifest, filterManifests } from "./manifests.js";
export { chainId, chainIds } from "./identity.js";
export { defaultSnapshotterFor } from "./snapshotter.js";
