import { gunzipSync, zstdDecompressSync } from "node:zlib";
import { type TestDescriptor, type TestImage, mediaType } from "./images.js";
import { type TarEntry, tar } from "./tar.js";

/**
 * An OCI image layout archive of `image`, as `ctr images import` takes it, naming the image
 * `name` (a full reference, e.g. "docker.io/library/busybox:test").
 */
export function ociArchive(image: TestImage, name: string): Uint8Array {
  const index = {
    schemaVersion: 2,
    mediaType: mediaType.index,
    manifests: [
      { ...image.manifest, annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": name.slice(name.lastIndexOf(":") + 1) } },
    ],
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
