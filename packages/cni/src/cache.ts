import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Network } from "./config.js";

/** libcni's default cache directory: ADD results are kept under `results/` for the DEL that follows. */
export const defaultCacheDir = "/var/lib/cni";

/** What is cached about one attachment, in libcni's `cniCacheV1` format (so either can DEL what the other added). */
export interface CachedAttachment {
  readonly containerId: string;
  readonly netns: string;
  readonly args?: readonly (readonly [string, string])[] | undefined;
  readonly capabilityArgs?: Readonly<Record<string, unknown>> | undefined;
}

const cachePath = (cacheDir: string, network: Network, containerId: string) =>
  join(cacheDir, "results", `${network.config.name}-${containerId}-${network.ifName}`);

export async function cacheResult(cacheDir: string, network: Network, attachment: CachedAttachment, configBytes: string, result: unknown): Promise<void> {
  const path = cachePath(cacheDir, network, attachment.containerId);
  const entry = {
    kind: "cniCacheV1",
    containerId: attachment.containerId,
    config: Buffer.from(configBytes).toString("base64"),
    ifName: network.ifName,
    networkName: network.config.name,
    netns: attachment.netns,
    ...(attachment.args?.length ? { cniArgs: attachment.args } : {}),
    ...(attachment.capabilityArgs && Object.keys(attachment.capabilityArgs).length > 0 ? { capabilityArgs: attachment.capabilityArgs } : {}),
    result,
  };
  await mkdir(join(cacheDir, "results"), { recursive: true, mode: 0o700 });
  await writeFile(`${path}.tmp`, JSON.stringify(entry), { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/** The cached ADD result, or undefined when nothing (readable) is cached. */
export async function cachedResult(cacheDir: string, network: Network, containerId: string): Promise<Record<string, unknown> | undefined> {
  try {
    const entry = JSON.parse(await readFile(cachePath(cacheDir, network, containerId), "utf8")) as { kind?: unknown; result?: unknown };
    return entry.kind === "cniCacheV1" && typeof entry.result === "object" && entry.result !== null ? (entry.result as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export async function removeCachedResult(cacheDir: string, network: Network, containerId: string): Promise<void> {
  await rm(cachePath(cacheDir, network, containerId), { force: true });
}
