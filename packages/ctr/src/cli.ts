/**
 * @berth/ctr/cli: what another Berth CLI (dist) shares with ctr: the base command with ctr's
 * global options and error reporting, argv hoisting, and ctr's output formats (tabwriter, sizes,
 * progress bars).
 */
export { CtrCommand, parseDuration } from "./base.js";
export { hoistGlobalOptions } from "./global-options.js";
export { tabwriter } from "./format/tabwriter.js";
export { humanDuration, humanSize, labelList, progressBytes } from "./format/units.js";
export { goDuration } from "./format/go-values.js";
export type { RenderOptions } from "./format/progress.js";
export { ProgressPrinter, progressBar, renderProgress } from "./format/progress.js";
export { aliases, parseLabels } from "./words.js";
export { snapshotterFlag } from "./commands/snapshots/shared.js";
export type { RegistryFlagValues } from "./commands/images/remote-flags.js";
export { registryFlags, resolverOptions } from "./commands/images/remote-flags.js";
export type { FetchFlagValues } from "./commands/content/fetch.js";
export { fetchFlags, fetchWithProgress } from "./commands/content/fetch.js";
export { ContentFetchObject } from "./commands/content/fetch-object.js";
export { ContentPushObject } from "./commands/content/push-object.js";
export { ImagesCheck } from "./commands/images/check.js";
export { ImagesConvert } from "./commands/images/convert.js";
export { ImagesTag } from "./commands/images/tag.js";
export { ImagesExport } from "./commands/images/export.js";
export { ImagesImport } from "./commands/images/import.js";
export { ImagesPush } from "./commands/images/push.js";
export { ImagesRemove } from "./commands/images/remove.js";
