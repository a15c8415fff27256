import type { CallContext, Mount } from "@berth/api";
import * as diffV1 from "@berth/api/gen/containerd/services/diff/v1/diff";
import type { ServiceClient } from "@berth/api/services";
import type { Descriptor } from "@berth/oci";

/** A layer as the diff service takes and gives it. */
export type LayerDescriptor = Descriptor;

const wireMounts = (mounts: readonly Mount[]) => mounts.map((m) => ({ type: m.type, source: m.source, target: m.target ?? "", options: [...m.options] }));
const descriptorOf = (d: diffV1.ApplyResponse["applied"]): LayerDescriptor => ({
  mediaType: d?.mediaType ?? "",
  digest: d?.digest ?? "",
  size: d?.size ?? 0,
  annotations: d?.annotations ?? {},
});

/** A daemon's diff service: applies layers from its content store onto mounts, and makes layers of changes. */
export class DiffProxy {
  constructor(private readonly service: ServiceClient<typeof diffV1.DiffDefinition>) {}

  /** Applies a layer (from the content store) onto `mounts`; returns the uncompressed descriptor (digest = diff ID). */
  async apply(context: CallContext, layer: LayerDescriptor, mounts: readonly Mount[]): Promise<LayerDescriptor> {
    const request = { diff: { ...layer, annotations: { ...(layer.annotations ?? {}) } }, mounts: wireMounts(mounts), payloads: {}, syncFs: false };
    return descriptorOf((await this.service.apply(request, context)).applied);
  }

  /** Stores the changes from `lower` to `upper` as a layer of `mediaType` (default gzip); returns its descriptor. */
  async diff(
    context: CallContext,
    lower: readonly Mount[],
    upper: readonly Mount[],
    options: { mediaType?: string; ref?: string; labels?: Readonly<Record<string, string>> } = {},
  ): Promise<LayerDescriptor> {
    const request = {
      left: wireMounts(lower),
      right: wireMounts(upper),
      mediaType: options.mediaType ?? "",
      ref: options.ref ?? "",
      labels: { ...(options.labels ?? {}) },
      sourceDateEpoch: undefined,
    };
    return descriptorOf((await this.service.diff(request, context)).diff);
  }
}
