import { type Any, type CallContext, type Container, jsonTypeUrls } from "@berth/api";
import { defaultSnapshotterFor } from "@berth/oci";
import { type WindowsSpecOpt, generateWindowsSpec, windowsSpecJson, withImageConfig as withWindowsImageConfig } from "@berth/runtime-windows/spec";
import type { Client } from "./client.js";
import type { LayerDescriptor } from "./diff.js";
import { type ImageRunConfig, ensureUnpacked } from "./image-config.js";
import { type SpecOpt, generateSpec } from "./oci/opts.js";
import { specAny } from "./oci/spec.js";
import type { ProcessIO } from "./tasks.js";

export const defaultRuntime = "io.containerd.runc.v2";
/** containerd's default runtime and snapshotter for Windows images. */
export const defaultWindowsRuntime = "io.containerd.runhcs.v1";
export const defaultWindowsSnapshotter = defaultSnapshotterFor("windows");
export const stopSignalLabel = "io.containerd.image.config.stop-signal";
const defaultSnapshotterLabel = "containerd.io/defaults/snapshotter";

/** The snapshotter to use when none is named: the namespace's default, else this platform's (as containerd's client). */
export async function defaultSnapshotter(client: Client, context: CallContext): Promise<string> {
  const namespace = await client.namespaces.get(context, context.namespace ?? client.namespace);
  return namespace.labels[defaultSnapshotterLabel] || defaultSnapshotterFor();
}

export interface NewContainerOptions {
  readonly id: string;
  /** The image to run; its root filesystem becomes the container's snapshot `<id>`. */
  readonly image?: ImageRunConfig | undefined;
  /** Default: the namespace's default snapshotter, else overlayfs. */
  readonly snapshotter?: string | undefined;
  /** Labels of the container's new snapshot (ctr's `--snapshotter-label`). */
  readonly snapshotLabels?: Readonly<Record<string, string>> | undefined;
  /** The image's files owned by these host ids plus their own, for a user namespace (containerd's WithRemappedSnapshot). */
  readonly remap?: { readonly uid: number; readonly gid: number } | undefined;
  readonly runtime?: string | undefined;
  /** Default for io.containerd.runc.v2: an empty `containerd.runc.v1.Options`, as ctr sends. */
  readonly runtimeOptions?: Any | undefined;
  /** Added after the image's labels and its stop signal. */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  /** The record's extensions (the CRI keeps its metadata there). */
  readonly extensions?: Readonly<Record<string, Any>> | undefined;
  /** Applied in order to containerd's default spec. */
  readonly spec: readonly SpecOpt[];
  /**
   * For a Windows image (its config's os is windows): applied in order to containerd's default
   * Windows spec in place of `spec`; default: the image's config alone.
   */
  readonly windowsSpec?: readonly WindowsSpecOpt[] | undefined;
}

/** True for an image whose config names the Windows platform: it gets the Windows spec, runtime and snapshotter. */
export const isWindowsImage = (image: ImageRunConfig | undefined): boolean => image?.platform.os === "windows";

/**
 * Creates a container as ctr run does: unpacks the image if needed, prepares the snapshot `<id>`
 * on the image's top layer under a short lease, makes the spec (reading the image's users from
 * that snapshot) and records the container with the image's labels. When any step fails, the
 * snapshot it prepared is removed again.
 */
export async function createContainer(client: Client, context: CallContext, options: NewContainerOptions): Promise<Container> {
  const windows = isWindowsImage(options.image);
  const snapshotter =
    options.image === undefined
      ? (options.snapshotter ?? "")
      : options.snapshotter || (windows ? defaultWindowsSnapshotter : await defaultSnapshotter(client, context));
  const lease = await client.leases.create(context, { id: "", labels: { "containerd.io/gc.expire": new Date(Date.now() + 86_400_000).toISOString() } });
  const leased = { ...context, lease: lease.id };
  let prepared = false;
  try {
    const image = options.image;
    if (image !== undefined) {
      await ensureUnpacked(client, leased, image, snapshotter);
      const parent = options.remap === undefined ? image.chainId : await remappedParent(client, leased, snapshotter, image.chainId, options.remap);
      await client.snapshotter(snapshotter).prepare(leased, options.id, parent, options.snapshotLabels);
      prepared = true;
    }
    const target = { client, context, container: { id: options.id, snapshotter, snapshotKey: prepared ? options.id : "" } };
    const spec = windows
      ? {
          typeUrl: jsonTypeUrls.runtimeSpec,
          value: Buffer.from(windowsSpecJson(generateWindowsSpec(options.windowsSpec ?? [withWindowsImageConfig(image!.process)]))),
        }
      : specAny(await generateSpec(target, ...options.spec));
    const runtime = options.runtime || (windows ? defaultWindowsRuntime : defaultRuntime);
    const runtimeOptions =
      options.runtimeOptions ?? (runtime === defaultRuntime ? { typeUrl: "containerd.runc.v1.Options", value: Buffer.alloc(0) } : undefined);
    const labels =
      image === undefined ? { ...options.labels } : { ...image.process.Labels, [stopSignalLabel]: image.process.StopSignal || "SIGTERM", ...options.labels };
    return await client.containers.create(context, {
      id: options.id,
      labels,
      image: image?.image.name ?? "",
      runtime: { name: runtime, options: runtimeOptions },
      spec,
      snapshotter,
      snapshotKey: target.container.snapshotKey,
      extensions: { ...options.extensions },
      sandbox: "",
    });
  } catch (error) {
    if (prepared)
      await client
        .snapshotter(snapshotter)
        .remove(context, options.id)
        .catch(() => undefined);
    throw error;
  } finally {
    await client.leases.delete(context, lease.id).catch(() => undefined);
  }
}

/** Creates the container's task on its snapshot's mounts (containerd's container.NewTask), restored from `checkpoint` if given. */
export async function createTask(
  client: Client,
  context: CallContext,
  container: Container,
  io: ProcessIO,
  options: { runtimeOptions?: Any; checkpoint?: LayerDescriptor } = {},
): Promise<number> {
  const rootfs = container.snapshotKey === "" ? [] : await client.snapshotter(container.snapshotter).mounts(context, container.snapshotKey);
  return client.tasks.create(context, { containerId: container.id, rootfs, ...io, options: options.runtimeOptions, checkpoint: options.checkpoint });
}

/** Every file under `root` owned `uid`/`gid` ids further up (containerd's remapRootFS). */
async function shiftOwners(root: string, uid: number, gid: number): Promise<void> {
  const { lchown, lstat, readdir } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const shift = async (path: string): Promise<void> => {
    const stats = await lstat(path);
    await lchown(path, stats.uid + uid, stats.gid + gid);
    if (stats.isDirectory()) for (const name of await readdir(path)) await shift(join(path, name));
  };
  await shift(root);
}

/**
 * The committed snapshot `<chainId>-<uid>-<gid>`: the image's root filesystem with its owners
 * shifted, made once and reused by every container with the same mapping.
 */
async function remappedParent(
  client: Client,
  context: CallContext,
  snapshotter: string,
  chainId: string,
  remap: { uid: number; gid: number },
): Promise<string> {
  const { isKind } = await import("@berth/api");
  const { withMounts } = await import("@berth/mount");
  const snapshots = client.snapshotter(snapshotter);
  const remapped = `${chainId}-${remap.uid}-${remap.gid}`;
  try {
    await snapshots.stat(context, remapped);
    return remapped;
  } catch (error) {
    if (!isKind(error, "NotFound")) throw error;
  }
  const working = `${remapped}-remap`;
  const mounts = await snapshots.prepare(context, working, chainId);
  try {
    await withMounts(mounts, (root) => shiftOwners(root, remap.uid, remap.gid));
    await snapshots.commit(context, remapped, working);
  } catch (error) {
    await snapshots.remove(context, working).catch(() => undefined);
    throw error;
  }
  return remapped;
}
