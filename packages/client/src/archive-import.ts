import { createHash } from "node:crypto";
import { posix } from "node:path";
import { Readable } from "node:stream";
import { type CallContext, type Image, type ImageTarget, invalidArgument, isKind, notFound } from "@berth/api";
import { detectCompression } from "@berth/diff";
import { type Descriptor, type Index, type Manifest, type Platform, hostPlatform, isIndex, isManifest, mediaTypes } from "@berth/oci";
import { normalizeReference } from "@berth/remotes";
import tar from "tar-stream";
import { imageNameAnnotation, ociRefNameAnnotation } from "./archive-export.js";
import type { Client } from "./client.js";
import { childLabels, readJson, selectManifests } from "./image-formats.js";
import { withLease } from "./lease.js";
import { recordImage } from "./pull.js";
import { batched } from "./byte-streams.js";

export interface ImportOptions {
  /** Platforms whose manifests are labelled and checked (default: this host's); all blobs are stored regardless. */
  readonly platforms?: readonly Platform[];
  readonly allPlatforms?: boolean;
  /** Prefix for images the archive names only by `org.opencontainers.image.ref.name` (`<base>:<ref name>`). */
  readonly baseName?: string;
  /** Also record the archive's index itself as an image of this name. */
  readonly indexName?: string;
  /** Labels of the image records. */
  readonly labels?: Readonly<Record<string, string>>;
}

interface StoredFile {
  readonly digest: string;
  readonly size: number;
  /** The blob's first bytes, to tell a gzip or zstd layer from a plain tar. */
  readonly head: Buffer;
}

interface DockerEntry {
  readonly Config: string;
  readonly RepoTags?: readonly string[] | null;
  readonly Layers: readonly string[];
}

const blobPathPattern = /^blobs\/([a-z0-9]+)\/([a-f0-9]{64})$/;

/** Writes one archive member into the content store; its digest is the path's (checked at commit) or, for Docker's files, computed. */
async function storeMember(
  client: Client,
  context: CallContext,
  name: string,
  size: number,
  data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<StoredFile> {
  const match = blobPathPattern.exec(name);
  const expected = match ? `${match[1]}:${match[2]}` : undefined;
  const hash = createHash("sha256");
  let head = Buffer.alloc(0);
  let writer;
  try {
    writer = await client.content.writer(context, { ref: `import-${expected ?? name}`, total: size, ...(expected ? { expected } : {}) });
  } catch (error) {
    if (!isKind(error, "AlreadyExists") || expected === undefined) throw error;
    for await (const chunk of data) if (head.length < 8) head = Buffer.concat([head, chunk]).subarray(0, 8);
    return { digest: expected, size, head };
  }
  let digest = expected;
  try {
    const { offset } = await writer.status();
    if (offset > 0) await writer.truncate(0);
    let position = 0;
    for await (const chunk of batched(data)) {
      if (head.length < 8) head = Buffer.concat([head, chunk]).subarray(0, 8);
      hash.update(chunk);
      await writer.write(chunk, position);
      position += chunk.byteLength;
    }
    digest ??= `sha256:${hash.digest("hex")}`;
    await writer.commit(size, digest);
    return { digest, size, head };
  } catch (error) {
    await writer.close().catch(() => undefined);
    if (isKind(error, "AlreadyExists") && digest !== undefined) return { digest, size, head };
    throw error;
  }
}

/** A member's name as the archive means it: no `./`, no leading slash. */
const cleanName = (name: string) => posix.normalize(name).replace(/^(\.\/|\/)+/, "");

interface ArchiveContents {
  readonly ociLayout?: { readonly imageLayoutVersion?: string };
  readonly index?: Index;
  readonly dockerManifest?: readonly DockerEntry[];
  readonly files: ReadonlyMap<string, StoredFile>;
}

/** Reads the whole tar: every regular file goes into the content store; the layout's JSON files are kept. */
async function readArchive(client: Client, context: CallContext, input: AsyncIterable<Uint8Array> | NodeJS.ReadableStream): Promise<ArchiveContents> {
  const extract = tar.extract();
  const source = input instanceof Readable ? input : Readable.from(input as AsyncIterable<Uint8Array>);
  source.on("error", (error) => extract.destroy(error));
  source.pipe(extract);
  const files = new Map<string, StoredFile>();
  const links = new Map<string, string>();
  const json: Record<string, unknown> = {};
  for await (const entry of extract) {
    const name = cleanName(entry.header.name);
    if (entry.header.type === "symlink" || entry.header.type === "link") {
      const target = entry.header.type === "symlink" ? posix.join(posix.dirname(name), entry.header.linkname ?? "") : cleanName(entry.header.linkname ?? "");
      links.set(name, target);
      entry.resume();
      continue;
    }
    if (entry.header.type !== "file" && entry.header.type !== "contiguous-file") {
      entry.resume();
      continue;
    }
    if (name === "oci-layout" || name === "index.json" || name === "manifest.json") {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      try {
        json[name] = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        throw invalidArgument(`archive member ${name}: not JSON`);
      }
      continue;
    }
    files.set(name, await storeMember(client, context, name, entry.header.size ?? 0, entry as AsyncIterable<Uint8Array>));
  }
  for (const [name, target] of links) {
    const file = files.get(target);
    if (file !== undefined) files.set(name, file);
  }
  return {
    ...(json["oci-layout"] !== undefined ? { ociLayout: json["oci-layout"] as ArchiveContents["ociLayout"] & object } : {}),
    ...(json["index.json"] !== undefined ? { index: json["index.json"] as Index } : {}),
    ...(json["manifest.json"] !== undefined ? { dockerManifest: json["manifest.json"] as DockerEntry[] } : {}),
    files,
  };
}

/** containerd's detectLayerMediaType: Docker's layer type by what the blob starts with. */
function dockerLayerType(head: Buffer): string {
  const compression = detectCompression(head);
  return compression === "gzip" ? mediaTypes.dockerLayerGzip : compression === "zstd" ? mediaTypes.ociLayerZstd : mediaTypes.dockerLayer;
}

/** Writes a JSON document the importer made (a Docker manifest) into the content store. */
async function storeJson(client: Client, context: CallContext, mediaType: string, value: unknown, labels: Record<string, string>): Promise<Descriptor> {
  const data = Buffer.from(JSON.stringify(value));
  const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
  const stored = await storeMember(client, context, `blobs/sha256/${digest.slice(7)}`, data.byteLength, [data]);
  await client.content.update(
    context,
    { digest: stored.digest, labels },
    Object.keys(labels).map((key) => `labels.${key}`),
  );
  return { mediaType, digest, size: data.byteLength };
}

/** containerd's importer for `docker save` archives: a schema 2 manifest per entry, an index entry per repo tag. */
async function dockerIndex(client: Client, context: CallContext, entries: readonly DockerEntry[], files: ReadonlyMap<string, StoredFile>): Promise<Index> {
  const manifests: Descriptor[] = [];
  for (const entry of entries) {
    const find = (path: string) => {
      const file = files.get(cleanName(path));
      if (file === undefined) throw notFound(`docker archive: ${path} not found`);
      return file;
    };
    const configFile = find(entry.Config);
    const layers = entry.Layers.map((path) => {
      const file = find(path);
      return { mediaType: dockerLayerType(file.head), digest: file.digest, size: file.size };
    });
    const config = { mediaType: mediaTypes.dockerConfig, digest: configFile.digest, size: configFile.size };
    const manifest = { schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config, layers };
    const descriptor = await storeJson(client, context, mediaTypes.dockerManifest, manifest, childLabels(mediaTypes.dockerManifest, manifest));
    for (const tag of entry.RepoTags ?? []) {
      const name = normalizeReference(tag);
      const refName = name.slice(name.lastIndexOf(":") + 1);
      manifests.push({ ...descriptor, annotations: { [imageNameAnnotation]: name, [ociRefNameAnnotation]: refName } });
    }
    if ((entry.RepoTags ?? []).length === 0) manifests.push(descriptor);
  }
  return { manifests };
}

/** containerd's imageName: the containerd name annotation, else the OCI ref name (prefixed by `baseName`). */
function imageName(annotations: Readonly<Record<string, string>> | undefined, baseName: string | undefined): string | undefined {
  const name = annotations?.[imageNameAnnotation];
  if (name) return name;
  const refName = annotations?.[ociRefNameAnnotation];
  if (!refName) return undefined;
  return baseName === undefined ? refName : `${baseName}:${refName}`;
}

/** Sets the GC labels of `descriptor`'s children (as containerd's SetChildrenLabels), walking down for the chosen platforms. */
async function labelTree(client: Client, context: CallContext, descriptor: Descriptor, platforms: readonly Platform[] | undefined): Promise<void> {
  if (!isIndex(descriptor.mediaType) && !isManifest(descriptor.mediaType)) return;
  const parsed = await readJson<Partial<Manifest & Index>>(client.content, context, descriptor.digest);
  const labels = childLabels(descriptor.mediaType, parsed);
  if (Object.keys(labels).length > 0)
    await client.content.update(
      context,
      { digest: descriptor.digest, labels },
      Object.keys(labels).map((key) => `labels.${key}`),
    );
  if (isIndex(descriptor.mediaType)) {
    const { manifests } = await selectManifests(client.content, context, descriptor, platforms);
    for (const manifest of manifests) await labelTree(client, context, manifest, platforms);
  }
}

/**
 * Imports an OCI image layout or `docker save` tarball as containerd's `ctr images import` does:
 * every blob into the content store (digests checked), Docker archives turned into schema 2
 * manifests, GC labels set, and an image recorded for every named entry of the index. Returns
 * the images; unpack them with `unpackImage`.
 */
export async function importImages(client: Client, input: AsyncIterable<Uint8Array> | NodeJS.ReadableStream, options: ImportOptions = {}): Promise<Image[]> {
  const platforms = options.allPlatforms ? undefined : (options.platforms ?? [hostPlatform()]);
  return withLease(client, async (context) => {
    const archive = await readArchive(client, context, input);
    let index: Index;
    if (archive.ociLayout !== undefined) {
      if (archive.ociLayout.imageLayoutVersion !== "1.0.0")
        throw invalidArgument(`oci-layout: unsupported image layout version ${JSON.stringify(archive.ociLayout.imageLayoutVersion)}`);
      if (archive.index === undefined) throw invalidArgument("OCI image layout without index.json");
      index = archive.index;
    } else if (archive.dockerManifest !== undefined) {
      index = await dockerIndex(client, context, archive.dockerManifest, archive.files);
    } else {
      throw invalidArgument("unrecognized image format: neither an OCI layout (oci-layout, index.json) nor a docker archive (manifest.json)");
    }
    const images: Image[] = [];
    for (const entry of index.manifests) {
      await labelTree(client, context, entry, platforms);
      const name = imageName(entry.annotations, options.baseName);
      if (name === undefined) continue;
      const target: ImageTarget = { mediaType: entry.mediaType, digest: entry.digest, size: entry.size, annotations: { ...(entry.annotations ?? {}) } };
      images.push(await recordImage(client, name, target, options.labels));
    }
    if (options.indexName !== undefined) {
      const descriptor = await storeJson(
        client,
        context,
        mediaTypes.ociIndex,
        { schemaVersion: 2, mediaType: mediaTypes.ociIndex, ...index },
        childLabels(mediaTypes.ociIndex, index),
      );
      images.push(await recordImage(client, options.indexName, { ...descriptor, annotations: {} }, options.labels));
    }
    return images;
  });
}
