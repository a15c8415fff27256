import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type CallContext, isKind, notFound } from "@berth/api";
import { type Descriptor, type Manifest, type Platform, hostPlatform, isManifest, mediaTypes, platformText } from "@berth/oci";
import { normalizeReference, parseReference } from "@berth/remotes";
import tar from "tar-stream";
import type { Client } from "./client.js";
import { readJson, selectManifests } from "./image-formats.js";

/** The annotation naming an image in an OCI layout's index.json, as containerd writes and reads it. */
export const imageNameAnnotation = "io.containerd.image.name";
/** OCI's own name annotation: only the tag (or the whole name when it does not parse). */
export const ociRefNameAnnotation = "org.opencontainers.image.ref.name";

export interface ExportOptions {
  /** Platforms whose manifests go into the archive (default: this host's). */
  readonly platforms?: readonly Platform[];
  readonly allPlatforms?: boolean;
  /** Leave out Docker's manifest.json (it lets `docker load` read the archive). */
  readonly skipDockerManifest?: boolean;
}

interface DockerEntry {
  readonly Config: string;
  readonly RepoTags: string[];
  readonly Layers: string[];
}

const blobPath = (digest: string) => `blobs/${digest.replace(":", "/")}`;

/** containerd's ociReferenceName: the object of the reference (its tag), or the name itself. */
function ociReferenceName(name: string): string {
  try {
    const object = parseReference(name).object;
    return object === "" ? name : object;
  } catch {
    return name;
  }
}

/** Docker's familiar form of a name (`docker.io/library/busybox:latest` → `busybox:latest`), for manifest.json's RepoTags. */
function familiarName(name: string): string | undefined {
  try {
    const normalized = normalizeReference(name);
    if (normalized.includes("@")) return undefined;
    return normalized.replace(/^docker\.io\/(library\/)?/, "");
  } catch {
    return undefined;
  }
}

async function requireBlob(client: Client, context: CallContext, descriptor: Descriptor): Promise<void> {
  try {
    await client.content.info(context, descriptor.digest);
  } catch (error) {
    if (isKind(error, "NotFound")) throw notFound(`content ${descriptor.digest} (${descriptor.mediaType}) is not in the content store`);
    throw error;
  }
}

/**
 * Writes `names` from the image store to `output` as containerd's `ctr images export` does: an
 * OCI image layout (oci-layout, index.json naming each image by `io.containerd.image.name` and
 * `org.opencontainers.image.ref.name`, blobs/sha256/…) plus Docker's manifest.json, entries sorted
 * by name. Content missing from the store fails the export before anything is written.
 */
export async function exportImages(client: Client, names: readonly string[], output: Writable, options: ExportOptions = {}): Promise<void> {
  const context = client.context();
  const wanted = options.allPlatforms ? undefined : (options.platforms ?? [hostPlatform()]);
  const blobs = new Map<string, Descriptor>();
  const roots: Descriptor[] = [];
  const docker = new Map<string, DockerEntry>();
  for (const name of names) {
    const image = await client.images.get(context, name);
    const target: Descriptor = {
      ...image.target,
      annotations: { ...image.target.annotations, [imageNameAnnotation]: name, [ociRefNameAnnotation]: ociReferenceName(name) },
    };
    roots.push(target);
    const { manifests } = await selectManifests(client.content, context, image.target, wanted);
    const chosen = manifests.filter((m) => isManifest(m.mediaType));
    if (chosen.length === 0) throw notFound(`image ${name}: no manifest for platform ${(wanted ?? []).map(platformText).join(", ")}`);
    blobs.set(image.target.digest, image.target);
    for (const [i, descriptor] of chosen.entries()) {
      await requireBlob(client, context, descriptor);
      const manifest = await readJson<Manifest>(client.content, context, descriptor.digest);
      for (const blob of [descriptor, manifest.config, ...manifest.layers]) blobs.set(blob.digest, blob);
      // Docker's manifest.json names one manifest per image: the best match for the platform.
      if (!options.skipDockerManifest && options.allPlatforms !== true && i === 0) {
        const entry = docker.get(manifest.config.digest) ?? {
          Config: blobPath(manifest.config.digest),
          RepoTags: [],
          Layers: manifest.layers.map((l) => blobPath(l.digest)),
        };
        const familiar = familiarName(name);
        if (familiar !== undefined && !entry.RepoTags.includes(familiar)) entry.RepoTags.push(familiar);
        docker.set(manifest.config.digest, entry);
      }
    }
  }
  for (const descriptor of blobs.values()) await requireBlob(client, context, descriptor);

  const pack = tar.pack();
  const written = pipeline(pack, output);
  const mtime = new Date(0);
  const file = (name: string, data: string) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ name, mode: 0o444, mtime, size: Buffer.byteLength(data) }, data, (error) => (error ? reject(error) : resolve())),
    );
  try {
    for (const directory of ["blobs/", "blobs/sha256/"]) pack.entry({ name: directory, type: "directory", mode: 0o755, mtime });
    for (const descriptor of [...blobs.values()].sort((a, b) => a.digest.localeCompare(b.digest))) {
      const entry = pack.entry({ name: blobPath(descriptor.digest), mode: 0o444, mtime, size: descriptor.size });
      await pipeline(client.content.read(context, descriptor.digest), entry);
    }
    await file("index.json", JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: roots }));
    if (docker.size > 0) await file("manifest.json", JSON.stringify([...docker.values()]));
    await file("oci-layout", JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    pack.finalize();
  } catch (error) {
    pack.destroy(error as Error);
    throw error;
  }
  await written;
}
