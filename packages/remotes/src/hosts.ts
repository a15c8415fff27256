import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { invalidArgument } from "@berth/api";
import { parse as parseToml } from "smol-toml";

export type Capability = "pull" | "resolve" | "push";

/** One registry endpoint, as containerd's `RegistryHost`. */
export interface RegistryHost {
  /** host[:port] to connect to. */
  readonly host: string;
  readonly scheme: "http" | "https";
  /** API root, `/v2` unless `override_path`. */
  readonly path: string;
  readonly capabilities: readonly Capability[];
  readonly skipVerify?: boolean;
  /** PEM CA certificates (file contents). */
  readonly ca?: readonly string[];
  /** TLS client certificate and key (PEM contents). */
  readonly client?: readonly { readonly cert: string; readonly key: string }[];
  readonly headers?: Readonly<Record<string, readonly string[]>>;
}

export interface HostOptions {
  /** Like ctr `--plain-http`: the default endpoint speaks http. */
  readonly plainHttp?: boolean;
  /** Like ctr `-k`: the default endpoint skips TLS verification. */
  readonly skipVerify?: boolean;
  /** Like ctr `--hosts-dir`: `<dir>/<host>/hosts.toml`. */
  readonly hostsDir?: string;
}

const allCapabilities: readonly Capability[] = ["pull", "resolve", "push"];

export function isLocalhost(host: string): boolean {
  const bare = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d+$/, "");
  return bare === "localhost" || bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

/** The built-in endpoint for a registry host: docker.io → registry-1.docker.io, loopback → http. */
export function defaultHost(refHost: string, options: HostOptions = {}): RegistryHost {
  const host = refHost === "docker.io" ? "registry-1.docker.io" : refHost;
  const scheme = options.plainHttp || (refHost !== "docker.io" && isLocalhost(refHost)) ? "http" : "https";
  return { host, scheme, path: "/v2", capabilities: allCapabilities, ...(options.skipVerify ? { skipVerify: true } : {}) };
}

/** The directory holding a host's configuration: `host_port_` first, then `host:port`, then `_default`. */
function hostDirectory(root: string, host: string): string | undefined {
  const candidates: string[] = [];
  const colon = host.lastIndexOf(":");
  if (colon > 0 && !host.endsWith("]")) candidates.push(join(root, `${host.slice(0, colon)}_${host.slice(colon + 1)}_`));
  candidates.push(join(root, host), join(root, "_default"));
  return candidates.find((dir) => existsSync(dir) && statSync(dir).isDirectory());
}

/** Endpoints for a registry host, in the order they are tried: hosts.toml `[host]` entries, then the server. */
export function configureHosts(refHost: string, options: HostOptions = {}): RegistryHost[] {
  const fallback = defaultHost(refHost, options);
  if (options.hostsDir === undefined) return [fallback];
  const dir = hostDirectory(options.hostsDir, refHost);
  if (dir === undefined) return [fallback];
  const file = join(dir, "hosts.toml");
  if (!existsSync(file)) return [fallback];
  return parseHostsToml(readFileSync(file, "utf8"), refHost, dir, options);
}

type TomlTable = Record<string, unknown>;

function strings(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value as string[];
  throw invalidArgument(`hosts.toml: ${what} must be a string or an array of strings`);
}

function hostFromTable(url: string, table: TomlTable, dir: string, base: RegistryHost | undefined): RegistryHost {
  const withScheme = /^[a-z]+:\/\//.test(url) ? url : `https://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw invalidArgument(`hosts.toml: invalid host URL ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw invalidArgument(`hosts.toml: unsupported scheme in ${JSON.stringify(url)}`);
  let path = parsed.pathname.replace(/\/+$/, "");
  if (table["override_path"] !== true && !path.endsWith("/v2")) path = `${path}/v2`;
  const capabilities = table["capabilities"] === undefined ? (base?.capabilities ?? allCapabilities) : strings(table["capabilities"], "capabilities");
  for (const capability of capabilities) {
    if (!allCapabilities.includes(capability as Capability)) throw invalidArgument(`hosts.toml: unknown capability ${JSON.stringify(capability)}`);
  }
  const readRelative = (file: string) => readFileSync(isAbsolute(file) ? file : join(dir, file), "utf8");
  const ca = strings(table["ca"], "ca").map(readRelative);
  const client: { cert: string; key: string }[] = [];
  const clientValue = table["client"];
  for (const entry of Array.isArray(clientValue) ? clientValue : clientValue === undefined ? [] : [clientValue]) {
    // A bare cert path means the key sits in the same PEM file.
    const [cert, key] = Array.isArray(entry) ? (entry as string[]) : [entry as string, entry as string];
    if (typeof cert !== "string" || typeof key !== "string") throw invalidArgument("hosts.toml: client must name cert and key files");
    client.push({ cert: readRelative(cert), key: readRelative(key) });
  }
  const headers: Record<string, string[]> = {};
  const headerTable = table["header"];
  if (headerTable !== undefined && (typeof headerTable !== "object" || headerTable === null)) throw invalidArgument("hosts.toml: header must be a table");
  for (const [key, value] of Object.entries((headerTable ?? {}) as TomlTable)) headers[key] = strings(value, `header.${key}`);
  const skipVerify = table["skip_verify"] === undefined ? base?.skipVerify : table["skip_verify"] === true;
  return {
    host: parsed.host,
    scheme: parsed.protocol === "http:" ? "http" : "https",
    path,
    capabilities: capabilities as Capability[],
    ...(skipVerify ? { skipVerify: true } : {}),
    ...(ca.length > 0 ? { ca } : base?.ca ? { ca: base.ca } : {}),
    ...(client.length > 0 ? { client } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
  };
}

/** Parses a hosts.toml; relative `ca`/`client` paths resolve against `dir`. */
export function parseHostsToml(text: string, refHost: string, dir: string, options: HostOptions = {}): RegistryHost[] {
  let document: TomlTable;
  try {
    document = parseToml(text) as TomlTable;
  } catch (error) {
    throw invalidArgument(`hosts.toml for ${refHost}: ${(error as Error).message}`);
  }
  const hosts: RegistryHost[] = [];
  const hostTables = document["host"];
  if (hostTables !== undefined) {
    if (typeof hostTables !== "object" || hostTables === null) throw invalidArgument("hosts.toml: host must be a table");
    for (const [url, table] of Object.entries(hostTables as TomlTable)) hosts.push(hostFromTable(url, table as TomlTable, dir, undefined));
  }
  const server = document["server"];
  if (typeof server === "string") hosts.push(hostFromTable(server, document, dir, undefined));
  else hosts.push({ ...defaultHost(refHost, options), ...hostFromTopLevelTls(document, dir) });
  return hosts;
}

/** Top-level skip_verify/ca/capabilities still apply to the built-in default server. */
function hostFromTopLevelTls(document: TomlTable, dir: string): Partial<RegistryHost> {
  const probe = hostFromTable("https://x", document, dir, undefined);
  return {
    capabilities: probe.capabilities,
    ...(probe.skipVerify ? { skipVerify: true } : {}),
    ...(probe.ca ? { ca: probe.ca } : {}),
    ...(probe.headers ? { headers: probe.headers } : {}),
  };
}
