import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";

/** go-cni's defaults, which stock `ctr run --cni` uses unchanged. */
export const defaultConfDir = "/etc/cni/net.d";
/** go-cni's /opt/cni/bin, then /usr/lib/cni: Debian's build searches where its containernetworking-plugins are. */
export const defaultPluginDirs: readonly string[] = ["/opt/cni/bin", "/usr/lib/cni"];
export const defaultInterfacePrefix = "eth";
/** go-cni loads only the first config file by default. */
export const defaultMaxConfNum = 1;
/** go-cni refuses config files larger than this. */
const maxConfigSize = 2 * 1024 * 1024;
const configExtensions = new Set([".conf", ".conflist", ".json"]);

/** One plugin's configuration as the file has it (`type` names the plugin binary). */
export type PluginConfig = Readonly<Record<string, unknown>> & { readonly type: string };

/** A network config list: a `.conflist`, or a single `.conf` lifted into a list of one. */
export interface NetworkConfigList {
  readonly name: string;
  readonly cniVersion: string;
  readonly plugins: readonly PluginConfig[];
  /** The file it was read from. */
  readonly source: string;
  /** The list as JSON text (what libcni caches beside a result). */
  readonly bytes: string;
}

/** A network to attach a container to: its config list and the interface name inside the container. */
export interface Network {
  readonly config: NetworkConfigList;
  readonly ifName: string;
}

/**
 * The directories to use: go-cni's defaults, overridden by `NETCONFPATH` (the config directory) and
 * `CNI_PATH` (plugin directories, `:`-separated) as the CNI reference tools (`cnitool`) read them.
 */
export function cniDirectories(env: NodeJS.ProcessEnv = process.env): { confDir: string; pluginDirs: string[] } {
  const pluginDirs = (env.CNI_PATH ?? "").split(":").filter((directory) => directory !== "");
  return { confDir: env.NETCONFPATH || defaultConfDir, pluginDirs: pluginDirs.length > 0 ? pluginDirs : [...defaultPluginDirs] };
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`error parsing ${what}: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`error parsing ${what}: not a JSON object`);
  return parsed as Record<string, unknown>;
}

const stringField = (object: Record<string, unknown>, field: string): string => (typeof object[field] === "string" ? (object[field] as string) : "");

/** libcni's ConfListFromBytes and, for a `.conf`/`.json`, ConfFromBytes lifted into a list (go-cni's loadFromConfDir). */
function parseConfigFile(source: string, text: string): NetworkConfigList {
  if (source.endsWith(".conflist")) {
    const list = parseObject(text, "configuration list");
    const name = stringField(list, "name");
    if (name === "") throw new Error(`failed to load CNI config list file ${source}: error parsing configuration list: no name`);
    if (!Array.isArray(list.plugins)) throw new Error(`failed to load CNI config list file ${source}: error parsing configuration list: no 'plugins' key`);
    const plugins = list.plugins.map((plugin, index) => {
      if (typeof plugin !== "object" || plugin === null || typeof (plugin as { type?: unknown }).type !== "string") {
        throw new Error(`failed to load CNI config list file ${source}: error parsing configuration list: plugin ${index} has no type`);
      }
      return plugin as PluginConfig;
    });
    return { name, cniVersion: stringField(list, "cniVersion"), plugins, source, bytes: text };
  }
  const conf = parseObject(text, "configuration");
  // A conf without a type is no network (or a conflist under the wrong extension).
  if (stringField(conf, "type") === "") throw new Error(`network type not found in ${source}`);
  const [name, cniVersion] = [stringField(conf, "name"), stringField(conf, "cniVersion")];
  return { name, cniVersion, plugins: [conf as PluginConfig], source, bytes: JSON.stringify({ name, cniVersion, plugins: [conf] }) };
}

/**
 * go-cni's loadFromConfDir: the `.conf`, `.conflist` and `.json` files of `confDir` in name order,
 * at most `maxConfNum` of them (0 or less: all), the first on `<prefix>0`, the next on `<prefix>1`, ….
 * Throws go-cni's message when the directory holds no config (or does not exist) or a file is invalid.
 */
export async function loadNetworkConfigs(confDir: string, maxConfNum: number, options: { interfacePrefix?: string } = {}): Promise<Network[]> {
  const prefix = options.interfacePrefix ?? defaultInterfacePrefix;
  let entries: string[];
  try {
    entries = (await readdir(confDir, { withFileTypes: true }))
      .filter((entry) => !entry.isDirectory() && configExtensions.has(extname(entry.name)))
      .map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`failed to read config file: ${(error as Error).message}`);
    entries = [];
  }
  if (entries.length === 0) throw new Error(`no network config found in ${confDir}: cni plugin not initialized`);
  const networks: Network[] = [];
  for (const name of entries.sort()) {
    const source = join(confDir, name);
    if ((await stat(source)).size > maxConfigSize) throw new Error(`CNI config in ${source} exceeded max size of ${maxConfigSize}`);
    const config = parseConfigFile(source, await readFile(source, "utf8"));
    if (config.plugins.length === 0) throw new Error(`CNI config list in config file ${source} has no networks, skipping`);
    networks.push({ config, ifName: `${prefix}${networks.length}` });
    if (networks.length === maxConfNum) break;
  }
  return networks;
}

/** go-cni's loopback network, which it attaches as `lo` before the configured networks. */
export function loopbackNetwork(): Network {
  const plugins: PluginConfig[] = [{ type: "loopback" }];
  const [name, cniVersion] = ["cni-loopback", "0.3.1"];
  return { config: { name, cniVersion, plugins, source: "", bytes: JSON.stringify({ cniVersion, name, plugins }) }, ifName: "lo" };
}
