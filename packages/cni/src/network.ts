import { cachedResult, cacheResult, removeCachedResult } from "./cache.js";
import type { Network, PluginConfig } from "./config.js";
import { type CniCommand, execPlugin } from "./invoke.js";

/** The container a network is added to or removed from. */
export interface Attachment {
  readonly containerId: string;
  /** The network namespace's path (`/proc/<pid>/ns/net`, a bind-mounted netns); empty for a DEL whose namespace is gone. */
  readonly netns: string;
  /** The directories holding the plugin binaries. */
  readonly pluginDirs: readonly string[];
  /** `CNI_ARGS` pairs (e.g. `K8S_POD_NAME`). */
  readonly args?: readonly (readonly [string, string])[] | undefined;
  /** Runtime values (e.g. `portMappings`) handed to the plugins that declare the capability, as `runtimeConfig`. */
  readonly capabilityArgs?: Readonly<Record<string, unknown>> | undefined;
  /** Where ADD results are kept for the DEL (libcni's `/var/lib/cni`, `defaultCacheDir`); none when undefined. */
  readonly cacheDir?: string | undefined;
}

/** A plugin's result JSON (CNI spec: `cniVersion`, `interfaces`, `ips`, `routes`, `dns`). */
export interface CniResult {
  readonly cniVersion?: string;
  readonly interfaces?: readonly { name: string; mac?: string; sandbox?: string }[];
  readonly ips?: readonly { address: string; gateway?: string; interface?: number }[];
  readonly routes?: readonly { dst: string; gw?: string }[];
  readonly dns?: Readonly<Record<string, unknown>>;
  readonly [key: string]: unknown;
}

/** Whether a CNI version is 0.4.0 or later (the versions before had no prevResult on DEL, nor CHECK). */
function atLeast040(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map((part) => Number.parseInt(part, 10) || 0);
  return major > 0 || minor >= 4;
}

/** libcni's name for a plugin in its errors: `type="bridge"`, and ` name="…"` when the plugin entry has one. */
function describe(plugin: PluginConfig): string {
  return typeof plugin.name === "string" && plugin.name !== ""
    ? `type=${JSON.stringify(plugin.type)} name=${JSON.stringify(plugin.name)}`
    : `type=${JSON.stringify(plugin.type)}`;
}

/** Runs one plugin; its error reads as libcni's, naming the plugin and the command. */
async function runPlugin(
  command: CniCommand,
  network: Network,
  plugin: PluginConfig,
  attachment: Attachment,
  prevResult: CniResult | undefined,
): Promise<string> {
  try {
    return await execPlugin(plugin.type, pluginConfig(network, plugin, attachment, prevResult), invocation(command, network, attachment));
  } catch (error) {
    const message = `plugin ${describe(plugin)} failed (${command === "ADD" ? "add" : command === "DEL" ? "delete" : "check"}): ${(error as Error).message}`;
    throw Object.assign(error as Error, { message });
  }
}

/** libcni's buildOneConfig: the list's name and version, the previous result, and the runtime config the plugin declares. */
function pluginConfig(network: Network, plugin: PluginConfig, attachment: Attachment, prevResult: CniResult | undefined): Record<string, unknown> {
  const config: Record<string, unknown> = { ...plugin, name: network.config.name, cniVersion: network.config.cniVersion };
  if (prevResult !== undefined) config.prevResult = prevResult;
  const capabilities = (plugin.capabilities ?? {}) as Record<string, unknown>;
  const runtimeConfig = Object.fromEntries(Object.entries(attachment.capabilityArgs ?? {}).filter(([name]) => capabilities[name] === true));
  if (Object.keys(runtimeConfig).length > 0) config.runtimeConfig = runtimeConfig;
  return config;
}

const invocation = (command: CniCommand, network: Network, attachment: Attachment) => ({
  command,
  containerId: attachment.containerId,
  netns: attachment.netns,
  ifName: network.ifName,
  args: attachment.args,
  pluginDirs: attachment.pluginDirs,
});

/**
 * CNI ADD of one network (libcni's AddNetworkList): each plugin in order, each given the result of
 * the one before as `prevResult`. Resolves to the last plugin's result; rejects with the first
 * plugin error (a `CniError` when the plugin said why).
 */
export async function addNetwork(network: Network, attachment: Attachment): Promise<CniResult> {
  let result: CniResult | undefined;
  for (const plugin of network.config.plugins) {
    const output = await runPlugin("ADD", network, plugin, attachment, result);
    result = JSON.parse(output) as CniResult;
  }
  if (attachment.cacheDir !== undefined) await cacheResult(attachment.cacheDir, network, attachment, network.config.bytes, result ?? {});
  return result ?? {};
}

/**
 * CNI DEL of one network (libcni's DelNetworkList): the plugins in reverse order. As go-cni's Remove,
 * an error that says "not found" (or, without a namespace path, "no such file or directory") means
 * the network is already gone and is not one.
 */
export async function removeNetwork(network: Network, attachment: Attachment): Promise<void> {
  try {
    // Plugins of CNI 0.4.0 on are given the ADD's result (when one is cached) as `prevResult`.
    const { cacheDir } = attachment;
    const prevResult =
      cacheDir !== undefined && atLeast040(network.config.cniVersion) ? await cachedResult(cacheDir, network, attachment.containerId) : undefined;
    for (const plugin of [...network.config.plugins].reverse()) {
      await runPlugin("DEL", network, plugin, attachment, prevResult);
    }
    if (cacheDir !== undefined) await removeCachedResult(cacheDir, network, attachment.containerId);
  } catch (error) {
    const message = (error as Error).message;
    if (message.includes("not found") || (attachment.netns === "" && message.includes("no such file or directory"))) return;
    throw error;
  }
}
