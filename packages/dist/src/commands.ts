import { ContentPushObject, ImagesCheck as CtrImagesCheck, ImagesConvert as CtrImagesConvert, ImagesExport, ImagesImport, ImagesPush, ImagesRemove as CtrImagesRemove, ImagesTag as CtrImagesTag } from "@berth/cli-kit/commands";
import { FetchObject } from "./commands/fetch-object.js";
import { Fetch } from "./commands/fetch.js";
import { ImagesList } from "./commands/images/list.js";
import { Pull } from "./commands/pull.js";
import { RootfsUnpack } from "./commands/rootfs/unpack.js";

/**
 * ctr's commands that dist has too, under dist's names: same flags, same output. oclif's parse
 * spreads the class's own statics, so `args` and `strict` are restated here.
 */
class Push extends ImagesPush {
  static override args = ImagesPush.args;
  static override usage = "push [flags] <remote> [<local>]";
  static override aliases = [];
  /** dist says what happened to each blob: done (uploaded), exists or mounted. */
  protected override readonly words = {};
}
class Import extends ImagesImport {
  static override args = ImagesImport.args;
  static override usage = "import [flags] <in>";
  static override aliases = [];
}
class Export extends ImagesExport {
  static override args = ImagesExport.args;
  static override strict = false;
  static override usage = "export [flags] <out> <image> ...";
  static override aliases = [];
}
class ImagesRemove extends CtrImagesRemove {
  static override args = CtrImagesRemove.args;
  static override strict = false;
  static override usage = "images rm [flags] <ref> [<ref>, ...]";
  static override aliases = ["images:remove", "images:delete", "images:del"];
}
class ImagesCheck extends CtrImagesCheck {
  static override args = CtrImagesCheck.args;
  static override strict = false;
  static override usage = "images check [flags] [<filter>, ...]";
  static override aliases = [];
}

class PushObject extends ContentPushObject {
  static override args = ContentPushObject.args;
  static override usage = "push-object [flags] <remote> <object> <type>";
}
class ImagesTag extends CtrImagesTag {
  static override args = CtrImagesTag.args;
  static override strict = false;
  static override usage = "images tag [flags] <source_ref> <target_ref> [<target_ref>, ...]";
  static override aliases = [];
}
class ImagesConvert extends CtrImagesConvert {
  static override args = CtrImagesConvert.args;
  static override usage = "images convert [flags] <source_ref> <target_ref>";
  static override aliases = [];
}

/** Every dist command by id; oclif's explicit command strategy reads this object. */
export const commands = {
  export: Export,
  fetch: Fetch,
  "fetch-object": FetchObject,
  "images:check": ImagesCheck,
  "images:convert": ImagesConvert,
  "images:ls": ImagesList,
  "images:rm": ImagesRemove,
  "images:tag": ImagesTag,
  import: Import,
  pull: Pull,
  push: Push,
  "push-object": PushObject,
  "rootfs:unpack": RootfsUnpack,
};
