import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { type TarEntry, tar } from "./tar.js";

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

/** The media types of the images built here. */
export const mediaType = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: {
    none: "application/vnd.oci.image.layer.v1.tar",
    gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
    zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  },
} as const;

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

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
          ...Array.from({ length: files }, (_, f): TarEntry => ({
            path: `data/layer-${i}/random-${f}`,
            type: "file",
            content: randomBytes(Math.floor(bytes / files)),
          })),
        ],
        compression,
        1,
      ),
    ),
  ];
  const { manifest, config } = builder.manifest(layers, "amd64");
  return builder.image(stripPlatform(manifest), [stripPlatform(manifest)], config, layers);
}
