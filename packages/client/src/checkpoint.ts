import { type Any, type CallContext, type Container, checkpointAnnotations, checkpointLabel, checkpointMediaTypes, isKind, notFound } from "@berth/api";
import { google_protobuf_any, runcV1 } from "@berth/api/proto";
import { readBlob, writeBlob } from "@berth/content";
import { hostPlatform, mediaTypes } from "@berth/oci";
import type { Client } from "./client.js";
import type { LayerDescriptor } from "./diff.js";
import { withLease } from "./lease.js";
import { imageRootfs } from "./unpack.js";

/** A manifest of a checkpoint's index, as Go's image-spec Descriptor writes it. */
interface IndexEntry {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly architecture: string; readonly os: string };
}

interface CheckpointIndex {
  readonly manifests: IndexEntry[];
  readonly annotations: Record<string, string>;
}

export type CheckpointTaskOptions = Partial<runcV1.CheckpointOptions>;

const checkpointOptionsAny = (options: CheckpointTaskOptions): Any => ({
  typeUrl: "containerd.runc.v1.CheckpointOptions",
  value: Buffer.from(runcV1.CheckpointOptions.encode(runcV1.CheckpointOptions.fromPartial(options)).finish()),
});

const onThisPlatform = (descriptor: LayerDescriptor): IndexEntry => {
  const { os, architecture } = hostPlatform();
  const annotations = descriptor.annotations ?? {};
  return {
    mediaType: descriptor.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    platform: { architecture, os },
  };
};

/** Go's encoding of the index: fields in image-spec's order, maps sorted, empty ones left out, a closing newline. */
function indexBytes(index: CheckpointIndex): Buffer {
  const sorted = (map: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const manifests = index.manifests.map((m) => ({
    mediaType: m.mediaType,
    digest: m.digest,
    size: m.size,
    ...(m.annotations !== undefined && Object.keys(m.annotations).length > 0 ? { annotations: sorted(m.annotations) } : {}),
    ...(m.platform === undefined ? {} : { platform: m.platform }),
  }));
  const annotations = Object.keys(index.annotations).length > 0 ? { annotations: sorted(index.annotations) } : {};
  return Buffer.from(`${JSON.stringify({ schemaVersion: 2, manifests, ...annotations })}\n`);
}

/** Writes the index with a `containerd.io/gc.ref.content.<i>` label per manifest, so that it holds them. */
async function writeIndex(client: Client, context: CallContext, index: CheckpointIndex, ref: string): Promise<LayerDescriptor> {
  const labels = Object.fromEntries(index.manifests.map((m, i) => [`containerd.io/gc.ref.content.${i}`, m.digest]));
  const bytes = indexBytes(index);
  const { digest, size } = await writeBlob(client.content, context, ref, bytes, { labels });
  return { mediaType: mediaTypes.ociIndex, digest, size, annotations: {} };
}

/** The container's read-write layer (its snapshot against its parent) as a gzip layer in the content store. */
async function rwLayer(client: Client, context: CallContext, container: Container): Promise<IndexEntry> {
  const snapshots = client.snapshotter(container.snapshotter);
  const info = await snapshots.stat(context, container.snapshotKey);
  const lowerKey = `${info.parent}-parent-view-${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  const lower = await snapshots.view(context, lowerKey, info.parent);
  try {
    const upper = await snapshots.mounts(context, container.snapshotKey);
    return onThisPlatform(await client.diff.diff(context, lower, upper, { ref: `checkpoint-rw-${container.snapshotKey}` }));
  } finally {
    await snapshots.remove(context, lowerKey).catch(() => undefined);
  }
}

const checkpointDateFormat = (date: Date) => {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(date.getMonth() + 1)}-${two(date.getDate())}-${date.getFullYear()}-${two(date.getHours())}:${two(date.getMinutes())}`;
};

/**
 * containerd's task.Checkpoint (`ctr tasks checkpoint`): pauses the task unless paused (and
 * resumes it after), checkpoints it with the runc `CheckpointOptions`, and records an image
 * `name` (default `checkpoint-<id>-<MM-DD-YYYY-HH:MM>`) labelled `containerd.io/checkpoint=true`
 * whose index holds the checkpoint's blobs, the container's image and its read-write layer.
 * With an `imagePath` the dump stays there and no image is made: resolves to undefined. Without
 * `criu` options (a runtime other than runc) the request carries none.
 */
export async function checkpointTask(
  client: Client,
  context: CallContext,
  containerId: string,
  options: { name?: string; criu?: CheckpointTaskOptions } = {},
): Promise<string | undefined> {
  const { name, criu } = options;
  return withLease(
    client,
    async (leased) => {
      const container = await client.containers.get(leased, containerId);
      const index: CheckpointIndex = { manifests: [], annotations: {} };
      const task = await client.tasks.get(leased, containerId);
      if (task.status !== "paused") await client.tasks.pause(leased, containerId);
      try {
        const descriptors = await client.tasks.checkpoint(leased, containerId, criu === undefined ? undefined : checkpointOptionsAny(criu));
        index.manifests.push(...descriptors.map(onThisPlatform));
        if ((criu?.imagePath ?? "") !== "") return undefined;
        if (container.image !== "") {
          index.manifests.push((await client.images.get(leased, container.image)).target);
          index.annotations["image.name"] = container.image;
        }
        if (container.snapshotKey !== "") index.manifests.push(await rwLayer(client, leased, container));
        const target = await writeIndex(client, leased, index, containerId);
        const imageName = name || `checkpoint-${containerId}-${checkpointDateFormat(new Date())}`;
        await client.images.create(leased, { name: imageName, labels: { [checkpointLabel]: "true" }, target: { ...target, annotations: {} } });
        return imageName;
      } finally {
        if (task.status !== "paused") await client.tasks.resume(leased, containerId).catch(() => undefined);
      }
    },
    context.namespace,
  );
}

export interface ContainerCheckpointOptions {
  /** Include the container's image (its target). */
  readonly image?: boolean;
  /** Include the read-write layer. */
  readonly rw?: boolean;
  /** Include a checkpoint of the running task (CRIU). */
  readonly task?: boolean;
}

/**
 * containerd's container.Checkpoint (`ctr containers checkpoint`): an image `ref` whose index names
 * the container's image, runtime and snapshotter in its annotations and holds its runtime
 * options, and as asked its image, read-write layer and task checkpoint. The caller pauses a
 * running task first, as ctr does.
 */
export async function checkpointContainer(
  client: Client,
  context: CallContext,
  containerId: string,
  ref: string,
  options: ContainerCheckpointOptions = {},
): Promise<void> {
  const container = await client.containers.get(context, containerId);
  if (container.image === "") throw notFound("container not created from an image");
  const image = await client.images.get(context, container.image);
  await withLease(
    client,
    async (leased) => {
      const index: CheckpointIndex = {
        manifests: [],
        annotations: {
          [checkpointAnnotations.imageName]: image.name,
          [checkpointAnnotations.runtimeName]: container.runtime.name,
          [checkpointAnnotations.snapshotterName]: container.snapshotter,
        },
      };
      const ignoringExisting = async (step: () => Promise<void>) => {
        try {
          await step();
        } catch (error) {
          if (!isKind(error, "AlreadyExists")) throw error;
        }
      };
      const runtimeOptions = container.runtime.options;
      if (runtimeOptions !== undefined && runtimeOptions.value.byteLength > 0) {
        await ignoringExisting(async () => {
          const bytes = google_protobuf_any.Any.encode(runtimeOptions).finish();
          const { digest, size } = await writeBlob(client.content, leased, `${containerId}-runtime-options`, bytes);
          index.manifests.push(onThisPlatform({ mediaType: checkpointMediaTypes.runtimeOptions, digest, size }));
        });
      }
      if (options.image) index.manifests.push(image.target);
      if (options.rw) {
        await ignoringExisting(async () => {
          index.manifests.push(await rwLayer(client, leased, container));
        });
      }
      if (options.task) {
        await ignoringExisting(async () => {
          const descriptors = await client.tasks.checkpoint(leased, containerId, checkpointOptionsAny({ fileLocks: true }));
          index.manifests.push(...descriptors.map(onThisPlatform));
        });
      }
      const target = await writeIndex(client, leased, index, `${containerId}index`);
      await client.images.create(leased, { name: ref, labels: {}, target: { ...target, annotations: {} } });
    },
    context.namespace,
  );
}

/** The checkpoint image's index, and the blob of one of its media types. */
async function readCheckpoint(client: Client, context: CallContext, ref: string): Promise<CheckpointIndex> {
  const image = await client.images.get(context, ref);
  const parsed = JSON.parse(Buffer.from(await readBlob(client.content, context, image.target.digest)).toString("utf8")) as Partial<CheckpointIndex>;
  return { manifests: parsed.manifests ?? [], annotations: parsed.annotations ?? {} };
}

function entryOf(index: CheckpointIndex, mediaType: string): IndexEntry {
  const entry = index.manifests.find((m) => m.mediaType === mediaType);
  // A plain error, as containerd's client's ErrMediaTypeNotFound.
  if (entry === undefined) throw new Error("media type not found");
  return entry;
}

/** The task checkpoint (`…criu.checkpoint.criu.tar`) of a checkpoint image, for Tasks.Create (`ctr containers restore --live`). */
export async function taskCheckpointOf(client: Client, context: CallContext, ref: string): Promise<LayerDescriptor> {
  const entry = entryOf(await readCheckpoint(client, context, ref), checkpointMediaTypes.criu);
  return { mediaType: entry.mediaType, digest: entry.digest, size: entry.size, annotations: entry.annotations ?? {} };
}

/**
 * containerd's client.Restore with ctr's options (`ctr containers restore`): a new container `id`
 * on a fresh snapshot of the checkpoint's image (in its snapshotter), with the checkpoint's spec,
 * runtime and runtime options, and with `rw` its read-write layer applied. A checkpoint without a
 * spec (made without `--task`) is NotFound, "media type not found", as containerd's.
 */
export async function restoreContainer(client: Client, context: CallContext, id: string, ref: string, options: { rw?: boolean } = {}): Promise<Container> {
  const index = await readCheckpoint(client, context, ref);
  return withLease(
    client,
    async (leased) => {
      const imageName = index.annotations[checkpointAnnotations.imageName] ?? "";
      if (imageName === "") throw notFound("image name not found in index");
      const snapshotter = index.annotations[checkpointAnnotations.snapshotterName];
      if (snapshotter === undefined) throw notFound("snapshotter not found in index");
      const runtime = index.annotations[checkpointAnnotations.runtimeName];
      if (runtime === undefined) throw notFound("runtime not found in index");
      const image = await client.images.get(leased, imageName);
      const { chainId } = await imageRootfs(client, leased, image.target);
      const snapshots = client.snapshotter(snapshotter);
      await snapshots.prepare(leased, id, chainId);
      try {
        const spec = google_protobuf_any.Any.decode(await readBlob(client.content, leased, entryOf(index, checkpointMediaTypes.config).digest));
        const optionsEntry = index.manifests.find((m) => m.mediaType === checkpointMediaTypes.runtimeOptions);
        const runtimeOptions =
          optionsEntry === undefined
            ? { typeUrl: "", value: Buffer.alloc(0) }
            : google_protobuf_any.Any.decode(await readBlob(client.content, leased, optionsEntry.digest));
        if (options.rw) {
          const rw = index.manifests.find((m) => m.mediaType === mediaTypes.ociLayerGzip);
          if (rw === undefined) throw new Error("media type not found");
          await client.diff.apply(leased, rw, await snapshots.mounts(leased, id));
        }
        return await client.containers.create(leased, {
          id,
          labels: {},
          image: image.name,
          runtime: { name: runtime, options: runtimeOptions },
          spec,
          snapshotter,
          snapshotKey: id,
          extensions: {},
          sandbox: "",
        });
      } catch (error) {
        await snapshots.remove(context, id).catch(() => undefined);
        throw error;
      }
    },
    context.namespace,
  );
}
