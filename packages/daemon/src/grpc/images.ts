import { type Image, type ImageStore, type NewImage, invalidArgument, notFound } from "@berth/api";
import { imagesV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";

function imageMessage(image: Image): imagesV1.Image {
  return {
    name: image.name,
    labels: { ...image.labels },
    target: { ...image.target, annotations: { ...image.target.annotations } },
    createdAt: image.createdAt,
    updatedAt: image.updatedAt,
  };
}

function newImage(image: imagesV1.Image | undefined): NewImage {
  if (image === undefined) throw invalidArgument("image: must be set");
  const target = image.target ?? { mediaType: "", digest: "", size: 0, annotations: {} };
  return { name: image.name, labels: image.labels, target };
}

export function imagesHandlers(images: ImageStore): ServiceHandlers<typeof imagesV1.ImagesDefinition> {
  return {
    get: async ({ name }, context) => ({ image: imageMessage(await images.get(context, name)) }),
    list: async ({ filters }, context) => ({ images: (await images.list(context, filters)).map(imageMessage) }),
    create: async ({ image }, context) => ({ image: imageMessage(await images.create(context, newImage(image))) }),
    update: async ({ image, updateMask }, context) => ({ image: imageMessage(await images.update(context, newImage(image), updateMask ?? [])) }),
    delete: async ({ name, sync, target }, context) => {
      if (target !== undefined) {
        const current = await images.get(context, name);
        if (current.target.digest !== target.digest) throw notFound(`image ${JSON.stringify(name)} with target ${target.digest}`);
      }
      await images.delete(context, name, sync);
      return {};
    },
  };
}
