/**
 * @berth/cli-kit/commands: the commands ctr and dist both have, as ctr names and spells them; dist
 * registers subclasses with its own usage and aliases.
 */
export { ContentFetchObject } from "./content-fetch-object.js";
export { ContentPushObject } from "./content-push-object.js";
export { ImagesCheck } from "./images-check.js";
export { ImagesConvert } from "./images-convert.js";
export { ImagesExport } from "./images-export.js";
export { ImagesImport } from "./images-import.js";
export { ImagesPush } from "./images-push.js";
export { ImagesRemove } from "./images-remove.js";
export { ImagesTag } from "./images-tag.js";
