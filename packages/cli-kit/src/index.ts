/**
 * @berth/cli-kit: what Berth's CLIs (ctr, dist) share: the base command with ctr's global options,
 * daemon connection and error reporting, argv hoisting of the global options, ctr's output formats
 * (tabwriter, sizes, progress bars, log lines), the registry/fetch/snapshotter flags and the fetch
 * with progress that pulls use. Start-up (`launch`), the manifest writer and the commands both CLIs
 * have are in their own subpaths, so that a command loads only what it uses.
 */
export { CtrCommand, parseDuration } from "./command.js";
export { hoistGlobalOptions } from "./global-options.js";
export { tabwriter } from "./format/tabwriter.js";
export { humanDuration, humanSize, labelList, progressBytes } from "./format/units.js";
export type { RenderOptions } from "./format/progress.js";
export { ProgressPrinter, progressBar, renderProgress } from "./format/progress.js";
export { logInfo } from "./format/log.js";
export { aliases, parseDigest, parseLabels } from "./words.js";
export type { FetchFlagValues, RegistryFlagValues } from "./flags.js";
export { fetchFlags, registryFlags, resolverOptions, snapshotterFlag } from "./flags.js";
export { fetchWithProgress } from "./fetch.js";
