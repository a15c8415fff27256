import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "smol-toml";
import { invalidArgument } from "@berth/api";
import { type ProxyPluginSettings, checkProxyPlugins } from "./plugins/proxy.js";

/** berthd's configuration, laid out as containerd's config.toml (version 2). */
export interface Config {
  version: number;
  root: string;
  state: string;
  disabled_plugins: string[];
  grpc: { address: string; uid: number; gid: number; max_recv_message_size: number; max_send_message_size: number };
  ttrpc: { address: string };
  /** containerd's `[metrics]`: the TCP address of `/v1/metrics` ("" = off) and gRPC latency histograms. */
  metrics: { address: string; grpc_histogram: boolean };
  /** containerd's `[debug]`: `address` is the unix socket of the debug endpoints ("" = off; see debug-server.ts). */
  debug: { address: string; uid: number; gid: number; level: string; format: "json" };
  /** Per-plugin settings under `[plugins."<type>.<id>"]`, merged over each plugin's defaults. */
  plugins: Record<string, Record<string, unknown>>;
  /** containerd's `[proxy_plugins.<name>]`: snapshotters and a content store served by other processes (plugins/proxy.ts). */
  proxy_plugins: Record<string, ProxyPluginSettings>;
}

// On Windows, containerd's layout with berth in its place: %ProgramData%\berth\root and \state, a named pipe.
const windows = process.platform === "win32";
const programData = process.env.ProgramData ?? "C:\\ProgramData";
export const defaultRoot = windows ? join(programData, "berth", "root") : "/var/lib/berth";
export const defaultState = windows ? join(programData, "berth", "state") : "/run/berth";
export const defaultAddress = windows ? "\\\\.\\pipe\\berthd" : "/run/berth/berthd.sock";

export function defaultConfig(): Config {
  return {
    version: 2,
    root: defaultRoot,
    state: defaultState,
    disabled_plugins: [],
    grpc: { address: defaultAddress, uid: 0, gid: 0, max_recv_message_size: 16 << 20, max_send_message_size: 16 << 20 },
    ttrpc: { address: "" },
    metrics: { address: "", grpc_histogram: false },
    debug: { address: "", uid: 0, gid: 0, level: "info", format: "json" },
    plugins: {},
    proxy_plugins: {},
  };
}

type Section = Record<string, unknown>;

function isSection(value: unknown): value is Section {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep-merges `override` onto `base`; a key of the wrong type is an error naming its path. */
function merge(base: Section, override: Section, path: string): Section {
  const merged: Section = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const where = path ? `${path}.${key}` : key;
    const current = base[key];
    if (current === undefined || (isSection(current) && Object.keys(current).length === 0 && isSection(value))) {
      merged[key] = value;
    } else if (isSection(current)) {
      if (!isSection(value)) throw invalidArgument(`config: ${where} must be a table`);
      merged[key] = merge(current, value, where);
    } else if (typeof current !== typeof value || Array.isArray(current) !== Array.isArray(value)) {
      throw invalidArgument(`config: ${where} must be ${Array.isArray(current) ? "an array" : `a ${typeof current}`}`);
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

export function parseConfig(text: string, source = "config"): Config {
  let parsed: Section;
  try {
    parsed = parse(text) as Section;
  } catch (error) {
    throw invalidArgument(`${source}: ${(error as Error).message}`);
  }
  const config = merge(defaultConfig() as unknown as Section, parsed, "") as unknown as Config;
  if (config.version !== 2) throw invalidArgument(`${source}: unsupported config version ${config.version} (want 2)`);
  checkProxyPlugins(config.proxy_plugins, source);
  return config;
}

export async function loadConfig(path: string | undefined): Promise<Config> {
  if (path === undefined) return defaultConfig();
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return defaultConfig();
    throw error;
  }
  return parseConfig(text, path);
}

/** The complete configuration with every plugin's defaults, as `berthd config default` prints it. */
export function renderConfig(config: Config): string {
  return stringify(config) + "\n";
}

/** Where shims reach the daemon over ttrpc: `[ttrpc] address`, else the gRPC socket's path plus `.ttrpc`, as containerd. */
export function ttrpcAddressOf(config: Config): string {
  return config.ttrpc.address || `${config.grpc.address}.ttrpc`;
}

/** Where the daemon makes its temporary mount points (containerd's `<root>/tmpmounts`), cleared at start. */
export function tempMountsOf(config: Config): string {
  return join(config.root, "tmpmounts");
}
