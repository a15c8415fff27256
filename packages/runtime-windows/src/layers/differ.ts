import { createHash } from "node:crypto";
import { Readable, Transform } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { type CallContext, type ContentStore, type Mount, invalidArgument, notImplemented } from "@berth/api";
import { type Descriptor, type LayerCompression, layerCompression, mediaTypes } from "@berth/oci";
import { extract } from "tar-stream";
import type { LayerOps, LayerWriter } from "./layer-ops.js";
import { parentLayerPaths, windowsLayerMountType } from "./mounts.js";
import { type LayerEntryType, type LayerTarHeader, backupStreamFromTarEntry, fileInfoFromHeader, paxTimeUnits } from "./tar-codec.js";

/** A layer as the differ takes and gives it (annotations always present, as on the wire). */
export type LayerDescriptor = Descriptor & { readonly annotations: Readonly<Record<string, string>> };

/** By the layer's compression; Docker's plain layer type ("unknown") is taken as a plain tar. */
const decompressors: Record<LayerCompression, (() => NodeJS.ReadWriteStream) | null> = {
  uncompressed: null,
  unknown: null,
  gzip: createGunzip,
  zstd: createZstdDecompress,
};
const whiteoutPrefix = ".wh.";

/**
 * containerd's `windows` differ: applies a layer tar into a Windows layer through `LayerOps`'
 * layer writer (ImportLayer). It takes exactly one `windows-layer` mount (anything else is
 * NotImplemented, so the daemon tries its next differ); a read-only mount with parents imports
 * into its nearest parent over the rest. Whiteouts `.wh.<name>` remove (Windows layers have no
 * opaque directories), hard links are links, `<file>:<stream>` entries are the alternate data
 * streams of the file before them. Compare (making a layer) needs ExportLayer, which only Windows has.
 */
export class WindowsDiffer {
  constructor(
    private readonly content: ContentStore,
    private readonly ops: LayerOps,
  ) {}

  async apply(context: CallContext, layer: LayerDescriptor, mounts: readonly Mount[]): Promise<LayerDescriptor> {
    const [mount] = mounts;
    if (mounts.length !== 1 || mount?.type !== windowsLayerMountType) throw notImplemented(`windows differ: needs exactly one ${windowsLayerMountType} mount`);
    const compression = layer.mediaType.includes("+encrypted") ? undefined : layerCompression(layer.mediaType);
    if (compression === undefined) throw notImplemented(`windows differ: unsupported media type ${layer.mediaType}`);
    let target = mount.source;
    let parents = parentLayerPaths(mount);
    if (mount.options.includes("ro") && parents.length > 0) [target, ...parents] = parents as [string, ...string[]];
    await this.content.info(context, layer.digest);
    const blob = Readable.from(this.content.read(context, layer.digest));
    const decompressor = decompressors[compression];
    const tar = decompressor === null ? blob : blob.pipe(decompressor());
    const hash = createHash("sha256");
    let size = 0;
    // Hashed on the way through; nothing flows until the tar reader pulls.
    const counted = tar.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      }),
    );
    const writer = await this.ops.newLayerWriter(target, parents);
    try {
      await importLayerTar(counted, writer);
    } finally {
      await writer.close();
    }
    return { mediaType: mediaTypes.ociLayer, digest: `sha256:${hash.digest("hex")}`, size, annotations: {} };
  }

  async diff(): Promise<LayerDescriptor> {
    throw notImplemented("windows differ: Compare exports a layer (ExportLayer), which only a Windows host can");
  }
}

/** One tar entry read whole: its header in the codec's terms and its data. */
interface ReadEntry {
  readonly header: LayerTarHeader;
  readonly data: Buffer;
}

const entryTypes: Record<string, LayerEntryType | undefined> = {
  file: "file",
  "contiguous-file": "file",
  directory: "directory",
  symlink: "symlink",
  link: "link",
};

/** Reads `tar` and hands its entries to `writer` in order, each file with the alternate streams after it. */
export async function importLayerTar(tar: NodeJS.ReadableStream, writer: LayerWriter): Promise<void> {
  let pending: { entry: ReadEntry; alternates: { stream: string; data: Buffer }[] } | undefined;
  const flush = async () => {
    if (pending === undefined) return;
    const { entry, alternates } = pending;
    pending = undefined;
    const { name, info } = fileInfoFromHeader(entry.header);
    await writer.add(name, info, backupStreamFromTarEntry(entry.header, entry.data, alternates));
  };
  for await (const entry of readEntries(tar)) {
    const { header } = entry;
    if (pending !== undefined && header.type === "file" && header.name.startsWith(`${pending.entry.header.name}:`)) {
      pending.alternates.push({ stream: header.name.slice(pending.entry.header.name.length + 1), data: entry.data });
      continue;
    }
    await flush();
    const slash = header.name.lastIndexOf("/");
    const base = header.name.slice(slash + 1);
    if (base.startsWith(whiteoutPrefix)) await writer.remove(`${header.name.slice(0, slash + 1)}${base.slice(whiteoutPrefix.length)}`);
    else if (header.type === "link") await writer.addLink(header.name, header.linkname ?? "");
    else pending = { entry, alternates: [] };
  }
  await flush();
}

async function* readEntries(tar: NodeJS.ReadableStream): AsyncGenerator<ReadEntry> {
  const entries = extract();
  tar.pipe(entries);
  for await (const entry of entries) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const raw = entry.header;
    const type = entryTypes[raw.type ?? "file"];
    if (type === undefined) throw invalidArgument(`${raw.name}: tar entry type ${raw.type} has no place in a Windows layer`);
    const pax = (raw.pax ?? {}) as Record<string, string>;
    const mtime = pax.mtime !== undefined ? paxTimeUnits(pax.mtime) : BigInt(Math.floor((raw.mtime?.getTime() ?? 0) / 1000)) * 10_000_000n;
    const name = raw.name.replace(/\/+$/, "");
    yield { header: { name, type, size: raw.size ?? 0, mtime, linkname: raw.linkname ?? undefined, pax }, data: Buffer.concat(chunks) } as ReadEntry;
  }
}
