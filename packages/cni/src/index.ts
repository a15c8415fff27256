export type { Network, NetworkConfigList, PluginConfig } from "./config.js";
export { cniDirectories, defaultConfDir, defaultInterfacePrefix, defaultMaxConfNum, defaultPluginDirs, loadNetworkConfigs, loopbackNetwork } from "./config.js";
export { defaultCacheDir } from "./cache.js";
export type { CniCommand, PluginInvocation } from "./invoke.js";
export { CniError, execPlugin } from "./invoke.js";
export type { Attachment, CniResult } from "./network.js";
export { addNetwork, removeNetwork } from "./network.js";
export { interfaceAddresses } from "./result.js";
