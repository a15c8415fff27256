import type { Any, CallContext, Container } from "@berth/api";
import type { Client } from "./client.js";
import { type ImageRunConfig, ensureUnpacked } from "./image-config.js";
import { type SpecOpt, generateSpec } from "./oci/opts.js";
import { specAny } from "./oci/spec.js";
import type { ProcessIO } from "./tasks.js";

export const defaultRuntime = "io.containerd.runc.v2";
export const stopSignalLabel = "io.containerd.image.config.stop-signal";
const defaultSnapshotterLabel = "containerd.io/defaults/snapshotter";

/** The snapshotter to use when none is named: the namespace's default, else overlayfs (as containerd's client). */
export async function defaultSnapshotter(client: Client, context: CallContext): Promise<string> {
  const namespace = await client.namespaces.get(context, context.namespace ?? client.namespace);
  return namespace.labels[defaultSnapshotterLabel] || "overlayfs";
}

export interface NewContainerOptions {
  readonly id: string;
  /** The image to run; its root filesystem becomes the container's snapshot `<id>`. */
  readonly image?: ImageRunConfig | undefined;
  /** Default: the namespace's default snapshotter, else overlayfs. */
  readonly snapshotter?: string | undefined;
  readonly runtime?: string | undefined;
  /** Default for io.containerd.runc.v2: an empty `containerd.runc.v1.Options`, as ctr sends. */
  readonly runtimeOptions?: Any | undefined;
  /** Added after the image's labels and its stop signal. */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  /** The record's extensions (the CRI keeps its metadata there). */
  readonly extensions?: Readonly<Record<string, Any>> | undefined;
  /** Applied in order to containerd's default spec. */
  readonly spec: readonly SpecOpt[];
}

/**
 * Creates a container as ctr run does: unpacks the image if needed, prepares the snapshot `<id>`
 * on the image's top layer under a short lease, makes the spec (reading the image's users from
 * that snapshot) and records the container with the image's labels. When any step fails, the
 * snapshot it prepared is removed again.
 */
export async function createContainer(client: Client, context: CallContext, options: NewContainerOptions): Promise<Container> {
  const snapshotter = options.image === undefined ? (options.snapshotter ?? "") : options.snapshotter || (await defaultSnapshotter(client, context));
  const lease = await client.leases.create(context, { id: "", labels: { "containerd.io/gc.expire": new Date(Date.now() + 86_400_000).toISOString() } });
  const leased = { ...context, lease: lease.id };
  let prepared = false;
  try {
    const image = options.image;
    if (image !== undefined) {
      await ensureUnpacked(client, leased, image, snapshotter);
      await client.snapshotter(snapshotter).prepare(leased, options.id, image.chainId);
      prepared = true;
    }
    const target = { client, context, container: { id: options.id, snapshotter, snapshotKey: prepared ? options.id : "" } };
    const spec = await generateSpec(target, ...options.spec);
    const runtime = options.runtime || defaultRuntime;
    const runtimeOptions = options.runtimeOptions ?? (runtime === defaultRuntime ? { typeUrl: "containerd.runc.v1.Options", value: Buffer.alloc(0) } : undefined);
    const labels = image === undefined ? { ...options.labels } : { ...image.process.Labels, [stopSignalLabel]: image.process.StopSignal || "SIGTERM", ...options.labels };
    return await client.containers.create(context, {
      id: options.id,
      labels,
      image: image?.image.name ?? "",
      runtime: { name: runtime, options: runtimeOptions },
      spec: specAny(spec),
      snapshotter,
      snapshotKey: target.container.snapshotKey,
      extensions: { ...options.extensions },
      sandbox: "",
    });
  } catch (error) {
    if (prepared) await client.snapshotter(snapshotter).remove(context, options.id).catch(() => undefined);
    throw error;
  } finally {
    await client.leases.delete(context, lease.id).catch(() => undefined);
  }
}

/** Creates the container's task on its snapshot's mounts (containerd's container.NewTask). */
export async function createTask(client: Client, context: CallContext, container: Container, io: ProcessIO, options: { runtimeOptions?: Any } = {}): Promise<number> {
  const rootfs = container.snapshotKey === "" ? [] : await client.snapshotter(container.snapshotter).mounts(context, container.snapshotKey);
  return client.tasks.create(context, { containerId: container.id, rootfs, ...io, options: options.runtimeOptions });
}
