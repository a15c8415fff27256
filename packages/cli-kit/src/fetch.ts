import type { Image } from "@berth/api";
import type { Client } from "@berth/client";
import { type Platform, parsePlatform } from "@berth/oci";
import { type FetchFlagValues, resolverOptions } from "./flags.js";
import { ProgressPrinter } from "./format/progress.js";
import { parseLabels } from "./words.js";

/**
 * Fetches and records `ref`, drawing a progress bar per descriptor; with `unpack` (a snapshotter),
 * each layer is unpacked as soon as it and its parent are there.
 */
export async function fetchWithProgress(
  client: Client,
  ref: string,
  flags: FetchFlagValues,
  unpack: string | false = false,
): Promise<{ image: Image; platforms: Platform[] }> {
  const { ProgressBoard, pull } = await import("@berth/client/images");
  const platforms = (flags.platform ?? []).map(parsePlatform);
  const board = new ProgressBoard(ref);
  const printer = new ProgressPrinter(() => board.snapshot());
  try {
    const image = await pull(client, ref, {
      ...resolverOptions(flags),
      ...(platforms.length > 0 ? { platforms } : {}),
      allPlatforms: flags["all-platforms"] === true,
      allMetadata: flags["all-metadata"] === true,
      metadataOnly: flags["metadata-only"] === true,
      labels: parseLabels(flags.label ?? []),
      unpack,
      progress: board.listener,
      resolved: () => board.markResolved(),
    });
    return { image, platforms };
  } finally {
    printer.stop();
  }
}
