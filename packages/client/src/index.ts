export type { ClientOptions, PluginInfo, ServerInfo, VersionInfo } from "./client.js";
export { Client } from "./client.js";
export { defaultAddress, resolveAddress, resolveNamespace } from "./address.js";
export { EventsProxy } from "./events.js";
export { NamespacesProxy } from "./namespaces.js";
