export type { CommandResult } from "./processes.js";
export { runCommand, spawnTracked, stopProcess } from "./processes.js";
export type { BerthdOptions, RunningDaemon } from "./daemons.js";
export { startBerthd, startStockContainerd, stockContainerdInstalled, stockCtr, testDirectory } from "./daemons.js";
export type { LoopBtrfs } from "./btrfs.js";
export { makeLoopBtrfs } from "./btrfs.js";
