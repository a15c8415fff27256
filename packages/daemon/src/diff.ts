import { createHash } from "node:crypto";
import { type CallContext, type ContentStore, type Mount, invalidArgument, isKind, notImplemented } from "@berth/api";
import { type WithMountsOptions, withMounts } from "@berth/mount";
import { type Descriptor, layerCompression, mediaTypes } from "@berth/oci";
import type { SnapshotSharing } from "./sharing.js";

/** The tar and compression code, loaded with the first apply or diff: an idle daemon needs none of it. */
export const diffModule = () => import("@berth/diff");

/** The layer types the differ writes (containerd's walking differ writes the OCI ones; Berth also Docker's). */
const creatable = new Set<string>([mediaTypes.ociLayer, mediaTypes.ociLayerGzip, mediaTypes.ociLayerZstd, mediaTypes.dockerLayer, mediaTypes.dockerLayerGzip]);

/**
 * containerd's walking differ: applies layers from the content store onto mounts, and computes a
 * layer between two mounts into the content store. Mounts are undone whatever happens; they are
 * made in `tempMounts` (the daemon's `<root>/tmpmounts`, cleared at start should it be killed meanwhile).
 */
export class Differ {
  readonly #mountOptions: WithMountsOptions;

  constructor(
    private readonly content: ContentStore,
    private readonly sharing: SnapshotSharing,
    tempMounts: string,
  ) {
    this.#mountOptions = { tempDir: tempMounts };
  }

  /** Applies `layer` onto `mounts`; the result describes the uncompressed stream (its digest is the diff ID). */
  async apply(context: CallContext, layer: Descriptor, mounts: readonly Mount[]): Promise<Descriptor> {
    if (mounts.length === 0) throw invalidArgument("mounts: at least one mount is required");
    if (layer.mediaType.includes("+encrypted")) throw notImplemented(`media type ${layer.mediaType}: encrypted layers`);
    // Checked before mounting: an unknown blob must not leave a mount behind.
    await this.content.info(context, layer.digest);
    const target = await this.sharing.beforeApply(mounts);
    let applied;
    try {
      // One overlay is written straight into its upper directory, as containerd does: no mount.
      const { applyLayer, overlayTarget } = await diffModule();
      const overlay = overlayTarget(mounts);
      const apply = (root: string, overlayLowerdirs?: readonly string[]) =>
        applyLayer(this.content.read(context, layer.digest), root, { mediaType: layer.mediaType, overlayLowerdirs });
      applied = overlay !== undefined ? await apply(overlay.upperdir, overlay.lowerdirs) : await withMounts(mounts, (root) => apply(root), this.#mountOptions);
    } catch (error) {
      if (target !== undefined) this.sharing.failed(target);
      throw error;
    }
    if (target !== undefined) await this.sharing.applied(target, applied.digest);
    return { mediaType: mediaTypes.ociLayer, digest: applied.digest, size: applied.size, annotations: {} };
  }

  /** Writes the changes from `lower` to `upper` as a layer of `mediaType` (default gzip) into the content store. */
  async diff(
    context: CallContext,
    lower: readonly Mount[],
    upper: readonly Mount[],
    mediaType: string,
    ref: string,
    labels: Readonly<Record<string, string>>,
  ): Promise<Descriptor> {
    const type = mediaType === "" ? mediaTypes.ociLayerGzip : mediaType;
    if (!creatable.has(type)) throw notImplemented(`media type ${type}: cannot create layers of this type`);
    const compressed = layerCompression(type);
    const compression = compressed === "gzip" || compressed === "zstd" ? compressed : undefined;
    const { compressStream, computeLayer } = await diffModule();
    const readOnly = (mounts: readonly Mount[]) =>
      mounts.map((m) => ({ ...m, options: m.options.includes("ro") ? m.options : [...m.options.filter((o) => o !== "rw"), "ro"] }));
    return withMounts(
      readOnly(lower),
      (lowerRoot) =>
        withMounts(
          readOnly(upper),
          async (upperRoot) => {
            const tar = computeLayer(lowerRoot, upperRoot);
            const uncompressed = createHash("sha256");
            const hashed = (async function* () {
              for await (const chunk of tar) {
                uncompressed.update(chunk);
                yield chunk;
              }
            })();
            const stream = compression === undefined ? hashed : compressStream(hashed, compression);
            const writer = await this.content.writer(context, { ref: ref || `diff-${Date.now()}-${Math.random().toString(36).slice(2)}` });
            try {
              for await (const chunk of stream) await writer.write(chunk);
              const digest = await writer.digest();
              const { offset } = await writer.status();
              const diffId = `sha256:${uncompressed.digest("hex")}`;
              await writer.commit(offset, digest, { ...labels, "containerd.io/uncompressed": diffId }).catch((error: unknown) => {
                // The same changes were computed before: the layer is already stored.
                if (!isKind(error, "AlreadyExists")) throw error;
              });
              return { mediaType: type, digest, size: offset, annotations: {} };
            } finally {
              await writer.close();
            }
          },
          this.#mountOptions,
        ),
      this.#mountOptions,
    );
  }
}
