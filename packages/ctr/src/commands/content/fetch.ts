import { Args, Flags } from "@oclif/core";
import type { Image } from "@berth/api";
import type { Client } from "@berth/client";
import { type Platform, parsePlatform } from "@berth/oci";
import { CtrCommand } from "../../base.js";
import { ProgressPrinter } from "../../format/progress.js";
import { parseLabels } from "../../words.js";
import { type RegistryFlagValues, registryFlags, resolverOptions } from "../images/remote-flags.js";

/** Flags of the commands that fetch an image from a registry (ctr's content fetch, dist's fetch). */
export const fetchFlags = {
  ...registryFlags,
  label: Flags.string({ multiple: true, multipleNonGreedy: true, description: "labels to attach to the image" }),
  platform: Flags.string({ multiple: true, multipleNonGreedy: true, description: "Pull content from a specific platform (os/arch[/variant]); default: this host's" }),
  "all-platforms": Flags.boolean({ description: "pull content from all platforms" }),
};

/** `content fetch`'s own: manifests and configs of platforms whose layers are not fetched. */
const metadataFlags = {
  "all-metadata": Flags.boolean({ description: "Pull metadata for all platforms" }),
  "metadata-only": Flags.boolean({ description: "Pull all metadata including manifests and configs" }),
};

export interface FetchFlagValues extends RegistryFlagValues {
  readonly "all-metadata"?: boolean | undefined;
  readonly "metadata-only"?: boolean | undefined;
  readonly platform?: string[] | undefined;
  readonly "all-platforms"?: boolean | undefined;
  readonly label?: string[] | undefined;
}

/** Fetches and records `ref` (no unpack), drawing ctr's progress display (a line per descriptor) on stdout. */
/**
 * Fetches and records `ref`, drawing a progress bar per descriptor; with `unpack` (a snapshotter),
 * each layer is unpacked as soon as it and its parent are there.
 */
export async function fetchWithProgress(client: Client, ref: string, flags: FetchFlagValues, unpack: string | false = false): Promise<{ image: Image; platforms: Platform[] }> {
  const { ProgressBoard, pull } = await import("@berth/client");
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

export class ContentFetch extends CtrCommand {
  static override summary = "fetch all content for an image into containerd";
  static override description = "Fetch an image into containerd: every blob of the chosen platforms goes into the content store and the image is recorded, with ctr's progress display; nothing is unpacked.";
  static override usage = "content fetch [flags] <remote> <object>";
  static override args = { ref: Args.string({ required: true, description: "a fully qualified reference, e.g. docker.io/library/redis:latest" }) };
  static override flags = { ...fetchFlags, ...metadataFlags };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContentFetch);
    await fetchWithProgress(await this.connect(flags), args.ref, flags);
  }
}
