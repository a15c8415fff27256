/**
 * @berth/client/connect: the connection alone (`Client` and its service proxies), without pull,
 * push, unpack, archives or OCI specs, for programs that start often and may only ask the daemon
 * a question (ctr's commands). The same classes as `@berth/client`'s.
 */
export type { ClientOptions, PluginInfo, ServerInfo, VersionInfo } from "./client.js";
export { Client } from "./client.js";
export { defaultAddress, resolveAddress, resolveNamespace } from "./address.js";
