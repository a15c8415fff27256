import type { Descriptor, Index } from "./descriptor.js";
import type { PlatformMatcher } from "./platform.js";

/**
 * containerd's images.FilterPlatforms over an index: the entries for the platforms `matcher`
 * takes, and those that name no platform (they may be for any). In the index's order.
 */
export function filterManifests(index: Index, matcher: PlatformMatcher): Descriptor[] {
  return index.manifests.filter((m) => m.platform === undefined || matcher.match(m.platform));
}

/**
 * The manifest of an index containerd's images.Manifest would choose for `matcher`: among the
 * entries whose platform it takes, the one it prefers most (the first of equals). Undefined when
 * no entry names a matching platform.
 */
export function chooseManifest(index: Index, matcher: PlatformMatcher): Descriptor | undefined {
  let best: Descriptor | undefined;
  for (const entry of index.manifests) {
    if (entry.platform === undefined || !matcher.match(entry.platform)) continue;
    if (best === undefined || matcher.less(entry.platform, best.platform!)) best = entry;
  }
  return best;
}
