import { type CallContext, type Image, type ImageStore, type NewImage, goZeroTime } from "@berth/api";
import * as imagesV1 from "@berth/api/gen/containerd/services/images/v1/images";
import type { ServiceClient } from "@berth/api/services";

function imageOf(image: imagesV1.Image | undefined): Image {
  const target = image?.target ?? { mediaType: "", digest: "", size: 0, annotations: {} };
  return { name: image?.name ?? "", labels: image?.labels ?? {}, target, createdAt: image?.createdAt ?? goZeroTime, updatedAt: image?.updatedAt ?? goZeroTime };
}

const message = (image: NewImage): imagesV1.Image => ({
  name: image.name,
  labels: { ...image.labels },
  target: { ...image.target, annotations: { ...image.target.annotations } },
  createdAt: undefined,
  updatedAt: undefined,
});

/** Images through a daemon's Images service. */
export class ImagesProxy implements ImageStore {
  constructor(private readonly service: ServiceClient<typeof imagesV1.ImagesDefinition>) {}

  async get(context: CallContext, name: string): Promise<Image> {
    return imageOf((await this.service.get({ name }, context)).image);
  }

  async list(context: CallContext, filters: readonly string[]): Promise<Image[]> {
    return (await this.service.list({ filters: [...filters] }, context)).images.map(imageOf);
  }

  async create(context: CallContext, image: NewImage): Promise<Image> {
    return imageOf((await this.service.create({ image: message(image), sourceDateEpoch: undefined }, context)).image);
  }

  async update(context: CallContext, image: NewImage, fieldpaths: readonly string[]): Promise<Image> {
    const request = { image: message(image), updateMask: fieldpaths.length > 0 ? [...fieldpaths] : undefined, sourceDateEpoch: undefined };
    return imageOf((await this.service.update(request, context)).image);
  }

  async delete(context: CallContext, name: string, sync = false): Promise<void> {
    await this.service.delete({ name, sync, target: undefined }, context);
  }
}
