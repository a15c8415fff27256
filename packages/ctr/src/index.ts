export { commands } from "./commands.js";
export { hoistGlobalOptions } from "./global-options.js";
export { tabwriter } from "./format/tabwriter.js";
export { goJson, goRfc3339Nano, goTimeString } from "./format/go-values.js";
