import { type Image, isKind } from "@berth/api";
import type { Client } from "@berth/client";
import { type Platform, hostPlatform, parsePlatform } from "@berth/oci";
import { type FetchFlagValues, resolverOptions } from "./flags.js";
import { ProgressPrinter } from "./format/progress.js";
import { parseLabels } from "./words.js";

/** Runs `transfer`; false when the daemon cannot (containerd 1.6 has no Transfer service), so that the pull runs here instead. */
export async function pulledByDaemon(transfer: () => Promise<void>): Promise<boolean> {
  try {
    await transfer();
    return true;
  } catch (error) {
    if (isKind(error, "NotImplemented")) return false;
    throw error;
  }
}

/**
 * Fetches and records `ref`, drawing a progress bar per descriptor; with `unpack` (a snapshotter),
 * each layer is unpacked as soon as it and its parent are there. With `throughDaemon`, a daemon
 * that serves the Transfer service (berthd, containerd 1.7+) pulls the image itself, as ctr's
 * `images pull` does; flags the Transfer service cannot express (`--skip-verify`, `--metadata-only`)
 * and a daemon without it pull here.
 */
export async function fetchWithProgress(
  client: Client,
  ref: string,
  flags: FetchFlagValues,
  unpack: string | false = false,
  options: { readonly throughDaemon?: boolean } = {},
): Promise<{ image: Image; platforms: Platform[] }> {
  const { ProgressBoard, pull, transferPull } = await import("@berth/client/images");
  const platforms = (flags.platform ?? []).map(parsePlatform);
  const board = new ProgressBoard(ref);
  const printer = new ProgressPrinter(() => board.snapshot());
  const registry = resolverOptions(flags);
  const labels = parseLabels(flags.label ?? []);
  const progress = { progress: board.listener, resolved: () => board.markResolved() };
  try {
    const transferred =
      options.throughDaemon === true &&
      !registry.skipVerify &&
      flags["metadata-only"] !== true &&
      (await pulledByDaemon(() =>
        transferPull(client, ref, {
          // Without --all-platforms, the platforms asked for, else this host's (an empty list means every platform).
          platforms: flags["all-platforms"] === true ? [] : platforms.length > 0 ? platforms : [hostPlatform()],
          unpackPlatforms: platforms.length > 0 ? platforms : [hostPlatform()],
          unpack,
          allMetadata: flags["all-metadata"] === true,
          labels,
          plainHttp: registry.plainHttp,
          ...(registry.hostsDir !== undefined ? { hostsDir: registry.hostsDir } : {}),
          ...(registry.credentials !== undefined ? { credentials: registry.credentials } : {}),
          ...progress,
        }),
      ));
    const image = transferred
      ? await client.images.get(client.context(), ref)
      : await pull(client, ref, {
          ...registry,
          ...(platforms.length > 0 ? { platforms } : {}),
          allPlatforms: flags["all-platforms"] === true,
          allMetadata: flags["all-metadata"] === true,
          metadataOnly: flags["metadata-only"] === true,
          labels,
          unpack,
          ...progress,
        });
    return { image, platforms };
  } finally {
    printer.stop();
  }
}
