import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { defaultSnapshotterFor, hostPlatform, mediaTypes, parsePlatform } from "@berth/oci";
import { CtrCommand, logInfo, snapshotterFlag } from "@berth/cli-kit";

export class RootfsUnpack extends CtrCommand {
  static override summary = "unpack applies layers from a manifest to a snapshot";
  static override description = "Applies the layers of a manifest (or of this platform's manifest of an index) in the content store to chain-ID-named snapshots; prints the top chain ID.";
  static override usage = "rootfs unpack [flags] <digest>";
  static override args = { digest: Args.string({ required: true, description: "digest of a manifest or index in the content store" }) };
  static override flags = {
    ...snapshotterFlag,
    platform: Flags.string({ description: "the platform's manifest of an index (default: this host's)" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RootfsUnpack);
    const client = await this.connect(flags);
    const { unpackImage } = await import("@berth/client");
    const { invalidArgument } = await import("@berth/api");
    if (!/^sha256:[a-f0-9]{64}$/.test(args.digest)) throw invalidArgument(`digest ${JSON.stringify(args.digest)}: not a sha256 digest`);
    const info = await client.content.info(client.context(), args.digest);
    const mediaType = await sniffMediaType(client, args.digest);
    logInfo(`unpacking layers from manifest ${args.digest}`);
    const rootfs = await unpackImage(client, { mediaType, digest: info.digest, size: info.size }, { platform: flags.platform ? parsePlatform(flags.platform) : hostPlatform(), snapshotter: flags.snapshotter || defaultSnapshotterFor() });
    logInfo(`chain ID: ${rootfs.chainId}`);
    this.print(`${rootfs.chainId}\n`);
  }
}

/** A manifest's or index's media type from its own `mediaType` field, or from its shape. */
async function sniffMediaType(client: import("@berth/client").Client, digest: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of client.content.read(client.context(), digest)) chunks.push(chunk);
  const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { mediaType?: string; manifests?: unknown };
  return parsed.mediaType ?? (parsed.manifests !== undefined ? mediaTypes.ociIndex : mediaTypes.ociManifest);
}
