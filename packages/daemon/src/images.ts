import {
  type CallContext,
  type Image,
  type ImageStore,
  type NewImage,
  type Publisher,
  type TypeRegistry,
  alreadyExists,
  invalidArgument,
  notFound,
  nowTimestamp,
  requireNamespace,
  validateDigest,
  validateLabels,
} from "@berth/api";
import { adaptObject, parseFilters } from "@berth/filters";
import type { ScopedTable } from "./scoped-table.js";
import { applyMapPaths, checkPaths, withoutEmpty } from "./labels.js";
import type { Collector } from "./leases.js";
import type { MetadataStore } from "./metadata.js";

export type ImageRecord = Omit<Image, "name">;

function validateImage(image: NewImage): void {
  if (image.name === "") throw invalidArgument("image.name: must not be empty");
  validateLabels(image.labels, "image.labels");
  validateDigest(image.target.digest, "image.target.digest");
  if (!(image.target.size > 0)) throw invalidArgument("image.target.size: must be greater than zero");
  if (image.target.mediaType === "") throw invalidArgument("image.target.media_type: must be set");
}

const target = (image: NewImage) => ({
  mediaType: image.target.mediaType,
  digest: image.target.digest,
  size: image.target.size,
  annotations: withoutEmpty(image.target.annotations),
});

/** Images in the metadata store, per namespace. */
export class ImageService implements ImageStore {
  readonly table: ScopedTable<ImageRecord>;

  constructor(
    private readonly store: MetadataStore,
    private readonly publisher: Publisher,
    private readonly types: TypeRegistry,
    private readonly collector: Collector,
  ) {
    this.table = store.scoped<ImageRecord>("images", "images");
  }

  #get(namespace: string, name: string): ImageRecord {
    const record = this.table.get(namespace, name);
    if (record === undefined) throw notFound(`image ${JSON.stringify(name)}`);
    return record;
  }

  async get(context: CallContext, name: string): Promise<Image> {
    const namespace = requireNamespace(context);
    return { name, ...this.#get(namespace, name) };
  }

  async list(context: CallContext, filters: readonly string[]): Promise<Image[]> {
    const namespace = requireNamespace(context);
    const filter = parseFilters(filters);
    const images: Image[] = [];
    for (const { id, value } of this.table.inNamespace(namespace)) {
      const fields = {
        name: id,
        target: { digest: value.target.digest, mediatype: value.target.mediaType },
        labels: value.labels,
        annotations: value.target.annotations,
      };
      if (filter.match(adaptObject(fields, ["labels", "annotations"]))) images.push({ name: id, ...value });
    }
    return images;
  }

  async create(context: CallContext, image: NewImage): Promise<Image> {
    const namespace = requireNamespace(context);
    validateImage(image);
    const now = nowTimestamp();
    const record: ImageRecord = { labels: withoutEmpty(image.labels), target: target(image), createdAt: now, updatedAt: now };
    await this.store.transaction(() => {
      if (this.table.get(namespace, image.name) !== undefined) throw alreadyExists(`image ${JSON.stringify(image.name)}`);
      this.store.ensureNamespace(namespace);
      this.table.put(namespace, image.name, record);
    });
    await this.publisher.publish(
      context,
      "/images/create",
      this.types.pack("containerd.services.images.v1.ImageCreate", { name: image.name, labels: record.labels }),
    );
    return { name: image.name, ...record };
  }

  async update(context: CallContext, image: NewImage, fieldpaths: readonly string[]): Promise<Image> {
    const namespace = requireNamespace(context);
    if (image.name === "") throw invalidArgument("image.name: must not be empty");
    validateLabels(image.labels, "image.labels");
    checkPaths(fieldpaths, ["labels", "target", "annotations"], ["labels", "annotations"], "image");
    if (fieldpaths.length === 0 || fieldpaths.includes("target")) validateImage(image);
    const updated = await this.store.transaction(() => {
      const current = this.#get(namespace, image.name);
      let next: ImageRecord;
      if (fieldpaths.length === 0) {
        next = { ...current, labels: withoutEmpty(image.labels), target: target(image) };
      } else {
        const labels = applyMapPaths(current.labels, image.labels, fieldpaths, "labels") ?? current.labels;
        let nextTarget = fieldpaths.includes("target") ? target(image) : current.target;
        const annotations = applyMapPaths(nextTarget.annotations, image.target.annotations, fieldpaths, "annotations");
        if (annotations !== undefined) nextTarget = { ...nextTarget, annotations };
        next = { ...current, labels, target: nextTarget };
      }
      next = { ...next, updatedAt: nowTimestamp() };
      this.table.put(namespace, image.name, next);
      return next;
    });
    await this.publisher.publish(
      context,
      "/images/update",
      this.types.pack("containerd.services.images.v1.ImageUpdate", { name: image.name, labels: updated.labels }),
    );
    return { name: image.name, ...updated };
  }

  async delete(context: CallContext, name: string, sync = false): Promise<void> {
    const namespace = requireNamespace(context);
    await this.store.transaction(() => {
      this.#get(namespace, name);
      this.table.remove(namespace, name);
    });
    await this.publisher.publish(context, "/images/delete", this.types.pack("containerd.services.images.v1.ImageDelete", { name }));
    if (sync) await this.collector.collect();
    else this.collector.schedule();
  }
}
