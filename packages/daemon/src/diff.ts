import { createHash } from "node:crypto";
import { type CallContext, type ContentStore, type Mount, invalidArgument, isKind, notImplemented } from "@berth/api";
import { applyLayer, compressStream, computeLayer, overlayTarget } from "@berth/diff";
import { type WithMountsOptions, withMounts } from "@berth/mount";
import type { SnapshotSharing } from "./sharing.js";

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations: Readonly<Record<string, string>>;
}

const uncompressedLayer = "application/vnd.oci.image.layer.v1.tar";
const layerTypes: Record<string, "gzip" | "zstd" | undefined> = {
  "application/vnd.oci.image.layer.v1.tar": undefined,
  "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
  "application/vnd.docker.image.rootfs.diff.tar": undefined,
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
};

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
      const overlay = overlayTarget(mounts);
      const apply = (root: string, overlayLowerdirs?: readonly string[]) => applyLayer(this.content.read(context, layer.digest), root, { mediaType: layer.mediaType, overlayLowerdirs });
      applied = overlay !== undefined ? await apply(overlay.upperdir, overlay.lowerdirs) : await withMounts(mounts, (root) => apply(root), this.#mountOptions);
    } catch (error) {
      if (target !== undefined) this.sharing.failed(target);
      throw error;
    }
    if (target !== undefined) await this.sharing.applied(target, applied.digest);
    return { mediaType: uncompressedLayer, digest: applied.digest, size: applied.size, annotations: {} };
  }

  /** Writes the changes from `lower` to `upper` as a layer of `mediaType` (default gzip) into the content store. */
  async diff(context: CallContext, lower: readonly Mount[], upper: readonly Mount[], mediaType: string, ref: string, labels: Readonly<Record<string, string>>): Promise<Descriptor> {
    const type = mediaType === "" ? "application/vnd.oci.image.layer.v1.tar+gzip" : mediaType;
    if (!(type in layerTypes)) throw notImplemented(`media type ${type}: cannot create layers of this type`);
    const compression = layerTypes[type];
    const readOnly = (mounts: readonly Mount[]) => mounts.map((m) => ({ ...m, options: m.options.includes("ro") ? m.options : [...m.options.filter((o) => o !== "rw"), "ro"] }));
    return withMounts(readOnly(lower), (lowerRoot) =>
      withMounts(readOnly(upper), async (upperRoot) => {
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
      }, this.#mountOptions),
      this.#mountOptions,
    );
  }
}
