import { Flags } from "@oclif/core";
import { CtrCommand, ProgressPrinter, type RegistryFlagValues, parseLabels, registryFlags, resolverOptions } from "@berth/ctr/cli";
import type { Image } from "@berth/api";
import type { Client, Platform } from "@berth/client";

/** Flags of the commands that fetch from a registry. */
export const fetchFlags = {
  ...registryFlags,
  platform: Flags.string({ multiple: true, multipleNonGreedy: true, description: "pull content for a specific platform (os/arch[/variant]); default: this host's" }),
  "all-platforms": Flags.boolean({ description: "pull content and metadata from all platforms" }),
  label: Flags.string({ multiple: true, multipleNonGreedy: true, description: "labels to attach to the image" }),
};

export interface FetchFlagValues extends RegistryFlagValues {
  readonly platform?: string[] | undefined;
  readonly "all-platforms"?: boolean | undefined;
  readonly label?: string[] | undefined;
}

/** dist's commands: ctr's global options and error reporting, plus fetching with the seed transcript's progress display. */
export abstract class DistCommand extends CtrCommand {
  /**
   * Fetches and records `ref`, drawing a progress bar per descriptor; with `unpack` (a snapshotter),
   * each layer is unpacked as soon as it and its parent are there.
   */
  protected async fetchImage(client: Client, ref: string, flags: FetchFlagValues, unpack: string | false = false): Promise<{ image: Image; platforms: Platform[] }> {
    const { ProgressBoard, parsePlatform, pull } = await import("@berth/client");
    const platforms = (flags.platform ?? []).map(parsePlatform);
    const board = new ProgressBoard(ref);
    const printer = new ProgressPrinter(() => board.snapshot());
    try {
      const image = await pull(client, ref, {
        ...resolverOptions(flags),
        ...(platforms.length > 0 ? { platforms } : {}),
        allPlatforms: flags["all-platforms"] === true,
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
}
