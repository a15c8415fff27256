export { commands } from "./commands.js";
export { ctrOptionsAfterSubcommand } from "./global-options.js";
export { goDuration, goJson, goRfc3339Nano, goTimeString } from "./format/go-values.js";
