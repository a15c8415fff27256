import { fileURLToPath } from "node:url";
import type { CallContext } from "@berth/api";
import type { Client } from "@berth/client";
import { type CommandResult, runCommand } from "@berth/testkit";

export const distBin = fileURLToPath(new URL("../bin/run.js", import.meta.url));
export const berthCtrBin = fileURLToPath(new URL("../../ctr/bin/run.js", import.meta.url));

/** Runs Berth's dist against `address` (namespace `namespace` when given). */
export function dist(address: string, args: readonly string[], namespace?: string): Promise<CommandResult> {
  return runCommand(process.execPath, [distBin, "--address", address, ...(namespace ? ["-n", namespace] : []), ...args], { env: { PATH: process.env.PATH }, timeoutMs: 120_000 });
}

/** Runs Berth's ctr against `address`. */
export function berthCtr(address: string, args: readonly string[]): Promise<CommandResult> {
  return runCommand(process.execPath, [berthCtrBin, "--address", address, ...args], { env: { PATH: process.env.PATH }, timeoutMs: 120_000 });
}

/** Digests of every blob a namespace sees, sorted. */
export async function contentDigests(client: Client, context: CallContext = client.context()): Promise<string[]> {
  const digests: string[] = [];
  for await (const info of client.content.list(context, [])) digests.push(info.digest);
  return digests.sort();
}

/** Whether a namespace sees the blob. */
export async function hasBlob(client: Client, digest: string, context: CallContext = client.context()): Promise<boolean> {
  try {
    await client.content.info(context, digest);
    return true;
  } catch {
    return false;
  }
}

export const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
