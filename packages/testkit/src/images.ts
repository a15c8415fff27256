import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from "node:zlib";

/** An OCI descriptor (structurally the same as @berth/remotes' Descriptor). */
export interface TestDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: { readonly architecture: string; readonly os: string; readonly variant?: string };
}

/** A built image: every blob by digest, the root (manifest or index) and the order to push in. */
export interface TestImage {
  /** The root descriptor: a manifest, or an index for multi-platform images. */
  readonly manifest: TestDescriptor;
  /** Platform manifests (just `manifest` for single-platform images). */
  readonly manifests: readonly TestDescriptor[];
  readonly config: TestDescriptor;
  readonly layers: readonly TestDescriptor[];
  /** rootfs.diff_ids of `config`: sha256 of each uncompressed layer tar. */
  readonly diffIds: readonly string[];
  readonly blobs: ReadonlyMap<string, Uint8Array>;
  /** Children before parents: layers and configs, manifests, then the index. */
  readonly pushOrder: readonly TestDescriptor[];
}

export type LayerCompression = "gzip" | "zstd" | "none";

export interface TarEntry {
  readonly path: string;
  readonly type: "file" | "dir" | "symlink";
  readonly mode?: number;
  readonly content?: Uint8Array | string;
  readonly linkname?: string;
}

const mediaType = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: { none: "application/vnd.oci.image.layer.v1.tar", gzip: "application/vnd.oci.image.layer.v1.tar+gzip", zstd: "application/vnd.oci.image.layer.v1.tar+zstd" },
} as const;

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** A minimal ustar writer: enough for layer fixtures (files, dirs, symlinks; mtime 0, root owned). */
export function tar(entries: readonly TarEntry[]): Uint8Array {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
    let name = entry.type === "dir" && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path;
    let prefix = "";
    if (Buffer.byteLength(name) > 100) {
      const cut = name.lastIndexOf("/", name.length - 2);
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
      if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`tar: path too long: ${entry.path}`);
    }
    const header = Buffer.alloc(512);
    header.write(name, 0, 100);
    header.write(octal(entry.mode ?? (entry.type === "file" ? 0o644 : entry.type === "dir" ? 0o755 : 0o777), 8), 100);
    header.write(octal(0, 8), 108);
    header.write(octal(0, 8), 116);
    header.write(octal(entry.type === "file" ? content.byteLength : 0, 12), 124);
    header.write(octal(0, 12), 136);
    header.write(" ".repeat(8), 148);
    header.write(entry.type === "file" ? "0" : entry.type === "dir" ? "5" : "2", 156);
    header.write(entry.linkname ?? "", 157, 100);
    header.write("ustar\u000000", 257);
    header.write("root", 265, 32);
    header.write("root", 297, 32);
    header.write(prefix, 345, 155);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    blocks.push(header);
    if (entry.type === "file" && content.byteLength > 0) {
      blocks.push(content, Buffer.alloc((512 - (content.byteLength % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const busyboxApplets = ["sh", "echo", "ls", "sleep", "true", "cat"];

/** Debian's busybox-static with a few applet links and a root-only passwd/group. */
export function busyboxLayerEntries(busyboxPath = "/bin/busybox"): TarEntry[] {
  return [
    { path: "bin", type: "dir" },
    { path: "bin/busybox", type: "file", mode: 0o755, content: readFileSync(busyboxPath) },
    ...busyboxApplets.map((applet): TarEntry => ({ path: `bin/${applet}`, type: "symlink", linkname: "busybox" })),
    { path: "etc", type: "dir" },
    { path: "etc/passwd", type: "file", content: "root:x:0:0:root:/root:/bin/sh\n" },
    { path: "etc/group", type: "file", content: "root:x:0:\n" },
  ];
}

class ImageBuilder {
  readonly blobs = new Map<string, Uint8Array>();
  readonly order: TestDescriptor[] = [];

  add(type: string, bytes: Uint8Array, platform?: TestDescriptor["platform"]): TestDescriptor {
    const descriptor: TestDescriptor = { mediaType: type, digest: sha256(bytes), size: bytes.byteLength, ...(platform ? { platform } : {}) };
    if (!this.blobs.has(descriptor.digest)) {
      this.blobs.set(descriptor.digest, bytes);
      this.order.push({ mediaType: type, digest: descriptor.digest, size: descriptor.size });
    }
    return descriptor;
  }

  layer(entries: readonly TarEntry[], compression: LayerCompression, level?: number): { descriptor: TestDescriptor; diffId: string } {
    const raw = tar(entries);
    const compressed = compression === "gzip" ? gzipSync(raw, level === undefined ? {} : { level }) : compression === "zstd" ? zstdCompressSync(raw) : raw;
    return { descriptor: this.add(mediaType.layer[compression], compressed), diffId: sha256(raw) };
  }

  manifest(
    layers: readonly { descriptor: TestDescriptor; diffId: string }[],
    architecture: string,
    imageConfig: Readonly<Record<string, unknown>> = { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"] },
  ): { manifest: TestDescriptor; config: TestDescriptor } {
    const configJson = {
      created: "1970-01-01T00:00:00Z",
      architecture,
      os: "linux",
      config: imageConfig,
      rootfs: { type: "layers", diff_ids: layers.map((layer) => layer.diffId) },
    };
    const config = this.add(mediaType.config, Buffer.from(JSON.stringify(configJson)));
    const manifestJson = { schemaVersion: 2, mediaType: mediaType.manifest, config, layers: layers.map((layer) => layer.descriptor) };
    return { manifest: this.add(mediaType.manifest, Buffer.from(JSON.stringify(manifestJson)), { architecture, os: "linux" }), config };
  }

  image(root: TestDescriptor, manifests: TestDescriptor[], config: TestDescriptor, layers: { descriptor: TestDescriptor; diffId: string }[]): TestImage {
    return {
      manifest: root,
      manifests,
      config,
      layers: layers.map((layer) => layer.descriptor),
      diffIds: layers.map((layer) => layer.diffId),
      blobs: this.blobs,
      pushOrder: this.order,
    };
  }
}

const stripPlatform = ({ mediaType: type, digest, size }: TestDescriptor): TestDescriptor => ({ mediaType: type, digest, size });

/**
 * A one-layer busybox image (OCI manifest, gzip layer unless told otherwise). `config` replaces the
 * image config's `config` object (user, env, entrypoint, cmd, …); `files` are added to the layer
 * after busybox's (e.g. an /etc/passwd of other users).
 */
export function buildBusyboxImage(
  options: { compression?: LayerCompression; architecture?: string; config?: Readonly<Record<string, unknown>>; files?: readonly TarEntry[] } = {},
): TestImage {
  const builder = new ImageBuilder();
  const layer = builder.layer([...busyboxLayerEntries(), ...(options.files ?? [])], options.compression ?? "gzip");
  const { manifest, config } = builder.manifest([layer], options.architecture ?? "amd64", options.config);
  return builder.image(stripPlatform(manifest), [stripPlatform(manifest)], config, [layer]);
}

/** busybox plus three layers: files added, one removed by a whiteout (`tmp/.wh.remove-me`), one changed. */
export function buildMultiLayerImage(options: { compression?: LayerCompression } = {}): TestImage {
  const compression = options.compression ?? "gzip";
  const builder = new ImageBuilder();
  const layers = [
    builder.layer(busyboxLayerEntries(), compression),
    builder.layer(
      [
        { path: "etc", type: "dir" },
        { path: "etc/hostname", type: "file", content: "layer-two\n" },
        { path: "tmp", type: "dir", mode: 0o1777 },
        { path: "tmp/remove-me", type: "file", content: "gone in layer three\n" },
        { path: "data", type: "dir" },
        { path: "data/keep", type: "file", content: "kept\n" },
      ],
      compression,
    ),
    builder.layer(
      [
        { path: "tmp", type: "dir", mode: 0o1777 },
        { path: "tmp/.wh.remove-me", type: "file" },
        { path: "data", type: "dir" },
        { path: "data/new", type: "file", content: "added in layer three\n" },
      ],
      compression,
    ),
    builder.layer(
      [
        { path: "etc", type: "dir" },
        { path: "etc/hostname", type: "file", content: "layer-four\n" },
      ],
      compression,
    ),
  ];
  const { manifest, config } = builder.manifest(layers, "amd64");
  return builder.image(stripPlatform(manifest), [stripPlatform(manifest)], config, layers);
}

/**
 * An OCI index with linux/amd64 and linux/arm64 manifests sharing the busybox layer (the arm64
 * one differs only in its config; it is for resolution tests, not for running).
 */
export function buildMultiPlatformIndex(): TestImage {
  const builder = new ImageBuilder();
  const layer = builder.layer(busyboxLayerEntries(), "gzip");
  const amd64 = builder.manifest([layer], "amd64");
  const arm64 = builder.manifest([layer], "arm64");
  const indexJson = { schemaVersion: 2, mediaType: mediaType.index, manifests: [amd64.manifest, arm64.manifest] };
  const index = builder.add(mediaType.index, Buffer.from(JSON.stringify(indexJson)));
  return builder.image(index, [amd64.manifest, arm64.manifest], amd64.config, [layer]);
}

const manifestTypes = new Set<string>([mediaType.index, mediaType.manifest]);

/**
 * Pushes an image with plain registry v2 calls (monolithic uploads), children first; the root
 * is tagged. For registries that need no auth or basic auth.
 */
export async function pushTestImage(
  image: TestImage,
  target: { url: string; repository: string; tag: string; auth?: { user: string; password: string } },
): Promise<void> {
  const headers: Record<string, string> = target.auth === undefined ? {} : { authorization: `Basic ${Buffer.from(`${target.auth.user}:${target.auth.password}`).toString("base64")}` };
  const base = `${target.url}/v2/${target.repository}`;
  for (const descriptor of image.pushOrder) {
    const bytes = image.blobs.get(descriptor.digest)!;
    if (manifestTypes.has(descriptor.mediaType)) {
      const reference = descriptor.digest === image.manifest.digest ? target.tag : descriptor.digest;
      const put = await fetch(`${base}/manifests/${reference}`, { method: "PUT", headers: { ...headers, "content-type": descriptor.mediaType }, body: bytes });
      if (put.status !== 201) throw new Error(`PUT manifest ${reference}: ${put.status} ${await put.text()}`);
      await put.arrayBuffer();
      continue;
    }
    const start = await fetch(`${base}/blobs/uploads/`, { method: "POST", headers });
    await start.arrayBuffer();
    if (start.status !== 202) throw new Error(`POST upload: ${start.status}`);
    const location = new URL(start.headers.get("location") ?? "", target.url);
    location.searchParams.set("digest", descriptor.digest);
    const put = await fetch(location, { method: "PUT", headers: { ...headers, "content-type": "application/octet-stream" }, body: bytes });
    if (put.status !== 201) throw new Error(`PUT blob ${descriptor.digest}: ${put.status} ${await put.text()}`);
    await put.arrayBuffer();
  }
}

/**
 * An OCI image layout archive of `image`, as `ctr images import` takes it, naming the image
 * `name` (a full reference, e.g. "docker.io/library/busybox:test").
 */
export function ociArchive(image: TestImage, name: string): Uint8Array {
  const index = {
    schemaVersion: 2,
    mediaType: mediaType.index,
    manifests: [{ ...image.manifest, annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": name.slice(name.lastIndexOf(":") + 1) } }],
  };
  const entries: TarEntry[] = [
    { path: "oci-layout", type: "file", content: JSON.stringify({ imageLayoutVersion: "1.0.0" }) },
    { path: "index.json", type: "file", content: JSON.stringify(index) },
    { path: "blobs", type: "dir" },
    { path: "blobs/sha256", type: "dir" },
  ];
  for (const [digest, bytes] of image.blobs) entries.push({ path: `blobs/sha256/${digest.slice("sha256:".length)}`, type: "file", content: bytes });
  return tar(entries);
}

/**
 * busybox plus a layer per entry of `layerBytes`, each that many random (so incompressible)
 * bytes in `filesPerLayer` files (default 1): large images for resume tests and pull benchmarks.
 */
export function buildLargeImage(options: { layerBytes: readonly number[]; filesPerLayer?: number; compression?: LayerCompression }): TestImage {
  const compression = options.compression ?? "gzip";
  const files = Math.max(1, options.filesPerLayer ?? 1);
  const builder = new ImageBuilder();
  const layers = [
    builder.layer(busyboxLayerEntries(), compression),
    ...options.layerBytes.map((bytes, i) =>
      builder.layer(
        [
          { path: "data", type: "dir" },
          { path: `data/layer-${i}`, type: "dir" },
          ...Array.from({ length: files }, (_, f): TarEntry => ({ path: `data/layer-${i}/random-${f}`, type: "file", content: randomBytes(Math.floor(bytes / files)) })),
        ],
        compression,
        1,
      ),
    ),
  ];
  const { manifest, config } = builder.manifest(layers, "amd64");
  return builder.image(stripPlatform(manifest), [stripPlatform(manifest)], config, layers);
}

/** The uncompressed tar of a layer blob of a test image. */
function uncompressed(descriptor: TestDescriptor, bytes: Uint8Array): Uint8Array {
  if (descriptor.mediaType.endsWith("+gzip") || descriptor.mediaType.endsWith(".gzip")) return gunzipSync(bytes);
  if (descriptor.mediaType.endsWith("+zstd")) return zstdDecompressSync(bytes);
  return bytes;
}

/**
 * A `docker save` tarball (Docker's v1.2 layout: manifest.json, `<config hex>.json`,
 * `<layer id>/layer.tar` uncompressed, `repositories`) of a single-platform test image.
 */
export function dockerArchive(image: TestImage, repoTags: readonly string[]): Uint8Array {
  const hex = (digest: string) => digest.slice("sha256:".length);
  const layerIds = image.diffIds.map((diffId) => hex(diffId));
  const entries: TarEntry[] = [];
  image.layers.forEach((layer, i) => {
    const id = layerIds[i]!;
    entries.push(
      { path: id, type: "dir" },
      { path: `${id}/VERSION`, type: "file", content: "1.0" },
      { path: `${id}/json`, type: "file", content: JSON.stringify({ id, ...(i > 0 ? { parent: layerIds[i - 1] } : {}) }) },
      { path: `${id}/layer.tar`, type: "file", content: uncompressed(layer, image.blobs.get(layer.digest)!) },
    );
  });
  entries.push({ path: `${hex(image.config.digest)}.json`, type: "file", content: image.blobs.get(image.config.digest)! });
  const manifest = [{ Config: `${hex(image.config.digest)}.json`, RepoTags: repoTags, Layers: layerIds.map((id) => `${id}/layer.tar`) }];
  entries.push({ path: "manifest.json", type: "file", content: JSON.stringify(manifest) });
  const repositories: Record<string, Record<string, string>> = {};
  for (const tag of repoTags) {
    const colon = tag.lastIndexOf(":");
    (repositories[tag.slice(0, colon)] ??= {})[tag.slice(colon + 1)] = layerIds.at(-1)!;
  }
  entries.push({ path: "repositories", type: "file", content: JSON.stringify(repositories) });
  return tar(entries);
}
