import { ImagesCheck as CtrImagesCheck, ImagesExport, ImagesImport, ImagesPush, ImagesRemove as CtrImagesRemove } from "@berth/ctr/cli";
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

/** Every dist command by id; oclif's explicit command strategy reads this object. */
export const commands = {
  export: Export,
  fetch: Fetch,
  "fetch-object": FetchObject,
  "images:check": ImagesCheck,
  "images:ls": ImagesList,
  "images:rm": ImagesRemove,
  import: Import,
  pull: Pull,
  push: Push,
  "rootfs:unpack": RootfsUnpack,
};
