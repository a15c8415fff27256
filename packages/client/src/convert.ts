import { createHash } from "node:crypto";
import { type CallContext, type Image, isKind } from "@berth/api";
import { writeBlob } from "@berth/content";
import { decompressStream } from "@berth/diff";
import { type Descriptor, type Platform, isIndex, isManifest, mediaTypes, platformMatches } from "@berth/oci";
import type { Client } from "./client.js";
import { readJson } from "./image-formats.js";
import { withLease } from "./lease.js";

export interface ConvertOptions {
  /** Keep only these platforms' manifests of an index (containerd's converter.WithPlatform); undefined keeps all. */
  readonly platforms?: readonly Platform[];
  /** Docker media types become OCI ones (`ctr images convert --oci`). */
  readonly dockerToOci?: boolean;
  /** Compressed layers become plain tar layers (`--uncompress`). */
  readonly uncompress?: boolean;
}

const uncompressedLayerTypes = new Set<string>([
  mediaTypes.dockerLayer,
  mediaTypes.dockerForeignLayer,
  mediaTypes.ociLayer,
  mediaTypes.ociNondistributableLayer,
]);

/** Media types of compressed layers and what they are once uncompressed (containerd's uncompress.convertMediaType). */
const uncompressedType: Readonly<Record<string, string>> = {
  [mediaTypes.dockerLayerGzip]: mediaTypes.dockerLayer,
  [mediaTypes.dockerForeignLayerGzip]: mediaTypes.dockerForeignLayer,
  [mediaTypes.ociLayerGzip]: mediaTypes.ociLayer,
  [mediaTypes.ociNondistributableLayerGzip]: mediaTypes.ociNondistributableLayer,
};

/** containerd's ConvertDockerMediaTypeToOCI. */
const dockerToOciType: Readonly<Record<string, string>> = {
  [mediaTypes.dockerManifestList]: mediaTypes.ociIndex,
  [mediaTypes.dockerManifest]: mediaTypes.ociManifest,
  [mediaTypes.dockerLayerGzip]: mediaTypes.ociLayerGzip,
  [mediaTypes.dockerForeignLayerGzip]: mediaTypes.ociNondistributableLayerGzip,
  [mediaTypes.dockerLayer]: mediaTypes.ociLayer,
  [mediaTypes.dockerForeignLayer]: mediaTypes.ociNondistributableLayer,
  [mediaTypes.dockerConfig]: mediaTypes.ociConfig,
};

const isDockerType = (mediaType: string) => mediaType.startsWith("application/vnd.docker.");
const isLayerType = (mediaType: string) =>
  mediaType.startsWith("application/vnd.oci.image.layer.") || mediaType.startsWith("application/vnd.docker.image.rootfs.");

/** Go struct field order of image-spec's types, so that a rewritten manifest hashes as containerd's would. */
const fieldOrder: Readonly<Record<string, readonly string[]>> = {
  descriptor: ["mediaType", "digest", "size", "urls", "annotations", "data", "platform", "artifactType"],
  platform: ["architecture", "os", "os.version", "os.features", "variant"],
  manifest: ["schemaVersion", "mediaType", "config", "layers", "subject", "annotations"],
  index: ["schemaVersion", "mediaType", "manifests", "annotations"],
};
const omitEmpty = new Set(["mediaType", "urls", "annotations", "data", "platform", "artifactType", "os.version", "os.features", "variant", "subject"]);

function ordered(value: Record<string, unknown>, type: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fieldOrder[type]!) {
    let item = value[field];
    const empty =
      item === undefined ||
      item === null ||
      item === "" ||
      (Array.isArray(item) && item.length === 0) ||
      (typeof item === "object" && item !== null && Object.keys(item).length === 0);
    if (empty && (omitEmpty.has(field) || item === undefined)) {
      if (field === "layers" || field === "manifests") out[field] = null;
      continue;
    }
    if (field === "annotations") item = Object.fromEntries(Object.entries(item as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    else if (field === "platform") item = ordered(item as Record<string, unknown>, "platform");
    else if (field === "config" || field === "subject") item = ordered(item as Record<string, unknown>, "descriptor");
    else if (field === "layers" || field === "manifests") item = (item as Record<string, unknown>[]).map((entry) => ordered(entry, "descriptor"));
    out[field] = item;
  }
  return out;
}

/** Go's json.Marshal of a value laid out in Go's field order: compact, with <, > and & escaped. */
const goJson = (value: unknown) =>
  Buffer.from(JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));

/** Drops the `containerd.io/gc.ref.content.*` labels that point at `digest` (containerd's ClearGCLabels). */
function clearGcLabels(labels: Record<string, string>, digest: string): void {
  for (const [key, value] of Object.entries(labels)) if (key.startsWith("containerd.io/gc.ref.content.") && value === digest) delete labels[key];
}

/** containerd's default converter (converter.DefaultIndexConvertFunc) over one image's content. */
class Converter {
  constructor(
    private readonly client: Client,
    private readonly context: CallContext,
    private readonly options: ConvertOptions,
  ) {}

  /** The descriptor's converted form, or undefined when nothing about it changed. */
  async convert(descriptor: Descriptor): Promise<Descriptor | undefined> {
    let converted: Descriptor | undefined;
    if (isLayerType(descriptor.mediaType)) converted = this.options.uncompress ? await this.#uncompressLayer(descriptor) : undefined;
    else if (isManifest(descriptor.mediaType)) converted = await this.#convertManifest(descriptor);
    else if (isIndex(descriptor.mediaType)) converted = await this.#convertIndex(descriptor);
    // A config's content changes only with its diff IDs, which neither conversion here changes: only its media type may.
    if (isDockerType(descriptor.mediaType)) {
      if (this.options.dockerToOci) {
        const base = converted ?? { ...descriptor };
        converted = { ...base, mediaType: dockerToOciType[base.mediaType] ?? base.mediaType };
      } else if (Object.keys((converted ?? descriptor).annotations ?? {}).length > 0) {
        // Docker media types carry no annotations.
        const { annotations: _dropped, ...rest } = converted ?? descriptor;
        converted = rest;
      }
    }
    return converted;
  }

  async #labels(digest: string): Promise<Record<string, string>> {
    return { ...(await this.client.content.info(this.context, digest)).labels };
  }

  async #write(value: Record<string, unknown>, type: "manifest" | "index", old: Descriptor, labels: Record<string, string>): Promise<Descriptor> {
    const bytes = goJson(ordered(value, type));
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    await writeBlob(this.client.content, this.context, `converter-write-json-${digest}`, bytes, { labels });
    return { ...old, digest, size: bytes.length };
  }

  async #convertManifest(descriptor: Descriptor): Promise<Descriptor | undefined> {
    const manifest = await readJson<Record<string, unknown> & { mediaType?: string; config: Descriptor; layers: Descriptor[] }>(
      this.client.content,
      this.context,
      descriptor.digest,
    );
    const labels = await this.#labels(descriptor.digest);
    let modified = false;
    if (manifest.mediaType !== undefined && isDockerType(manifest.mediaType) && this.options.dockerToOci) {
      manifest.mediaType = dockerToOciType[manifest.mediaType] ?? manifest.mediaType;
      modified = true;
    }
    const layers = [...(manifest.layers ?? [])];
    for (const [i, layer] of layers.entries()) {
      const converted = await this.convert(layer);
      if (converted === undefined) continue;
      clearGcLabels(labels, layer.digest);
      labels[`containerd.io/gc.ref.content.l.${i}`] = converted.digest;
      layers[i] = converted;
      modified = true;
    }
    manifest.layers = layers;
    const config = await this.convert(manifest.config);
    if (config !== undefined) {
      clearGcLabels(labels, manifest.config.digest);
      labels["containerd.io/gc.ref.content.config"] = config.digest;
      manifest.config = config;
      modified = true;
    }
    return modified ? this.#write(manifest, "manifest", descriptor, labels) : undefined;
  }

  async #convertIndex(descriptor: Descriptor): Promise<Descriptor | undefined> {
    const index = await readJson<Record<string, unknown> & { mediaType?: string; manifests: Descriptor[] }>(
      this.client.content,
      this.context,
      descriptor.digest,
    );
    const labels = await this.#labels(descriptor.digest);
    let modified = false;
    if (index.mediaType !== undefined && isDockerType(index.mediaType) && this.options.dockerToOci) {
      index.mediaType = dockerToOciType[index.mediaType] ?? index.mediaType;
      modified = true;
    }
    const kept: Descriptor[] = [];
    for (const [i, manifest] of (index.manifests ?? []).entries()) {
      if (manifest.platform !== undefined && this.options.platforms !== undefined && !platformMatches(this.options.platforms, manifest.platform)) {
        clearGcLabels(labels, manifest.digest);
        modified = true;
        continue;
      }
      const converted = await this.convert(manifest);
      if (converted === undefined) {
        kept.push(manifest);
        continue;
      }
      clearGcLabels(labels, manifest.digest);
      labels[`containerd.io/gc.ref.content.m.${i}`] = converted.digest;
      kept.push(converted);
      modified = true;
    }
    if (!modified) return undefined;
    index.manifests = kept;
    return this.#write(index, "index", descriptor, labels);
  }

  /** A compressed layer stored again uncompressed (containerd's uncompress.LayerConvertFunc). */
  async #uncompressLayer(descriptor: Descriptor): Promise<Descriptor | undefined> {
    if (uncompressedLayerTypes.has(descriptor.mediaType)) return undefined;
    const labels = await this.#labels(descriptor.digest);
    delete labels["containerd.io/uncompressed"];
    const writer = await this.client.content.writer(this.context, { ref: `convert-uncompress-from-${descriptor.digest}` });
    const hash = createHash("sha256");
    let size = 0;
    try {
      await writer.truncate(0);
      for await (const chunk of decompressStream(this.client.content.read(this.context, descriptor.digest))) {
        hash.update(chunk);
        await writer.write(chunk);
        size += chunk.length;
      }
      const digest = `sha256:${hash.digest("hex")}`;
      try {
        await writer.commit(size, digest, labels);
      } catch (error) {
        if (!isKind(error, "AlreadyExists")) throw error;
      }
      return { ...descriptor, digest, size, mediaType: uncompressedType[descriptor.mediaType] ?? descriptor.mediaType };
    } finally {
      await writer.close();
    }
  }
}

/**
 * Converts image `source` into a new image `target` as containerd's converter.Convert: layers,
 * manifests and indexes are rewritten only where the options change them (Docker→OCI media types,
 * uncompressed layers, an index's manifests narrowed to `platforms`), with the GC labels that tie
 * them together; the new image keeps the source's labels and replaces any image named `target`.
 * Converting to the same name updates the image in place.
 */
export async function convertImage(client: Client, source: string, target: string, options: ConvertOptions = {}): Promise<Image> {
  return withLease(client, async (context) => {
    const image = await client.images.get(context, source);
    const converted = await new Converter(client, context, options).convert(image.target as Descriptor);
    const next = {
      name: target,
      labels: image.labels,
      target: converted === undefined ? image.target : { ...converted, annotations: converted.annotations ?? {} },
    };
    if (target === source) return client.images.update(context, next, []);
    await client.images.delete(context, target).catch((error: unknown) => {
      if (!isKind(error, "NotFound")) throw error;
    });
    return client.images.create(context, next);
  });
}

/**
 * Records image `source` under each of `targets` as `ctr images tag`: an existing target is an
 * AlreadyExists error unless `force`, which replaces it. Calls `tagged` after each name.
 */
export async function tagImage(
  client: Client,
  source: string,
  targets: readonly string[],
  options: { force?: boolean; tagged?: (name: string) => void } = {},
): Promise<void> {
  await withLease(client, async (context) => {
    const image = await client.images.get(context, source);
    for (const name of targets) {
      const next = { name, labels: image.labels, target: image.target };
      try {
        await client.images.create(context, next);
      } catch (error) {
        if (!isKind(error, "AlreadyExists") || !options.force) throw error;
        await client.images.delete(context, name);
        await client.images.create(context, next);
      }
      options.tagged?.(name);
    }
  });
}
