import { execFile } from "node:child_process";
import { readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Bundle, RuntimeLogger } from "@berth/runtime";
import { socketPathOfAddress } from "./launch.js";

// What a runtime v1 bundle holds besides the spec and the rootfs, and the cleanup that uses it.
// The shim writes `init.pid` (runc's pid file); the daemon writes `address`, `shim.pid` and, for
// Berth alone, `runc.json` (containerd reads the container's RuncOptions again from its metadata).

/** The OCI runtime a task runs with and its state root (the namespace's directory is below it). */
export interface RuncCommand {
  readonly binary: string;
  readonly root: string;
}

const runcFile = "runc.json";
const runFile = promisify(execFile);

export async function saveRunc(bundle: Bundle, runc: RuncCommand): Promise<void> {
  await writeFile(join(bundle.path, runcFile), JSON.stringify(runc), { mode: 0o600 });
}

export async function readRunc(bundle: Bundle, fallback: RuncCommand): Promise<RuncCommand> {
  try {
    const saved = JSON.parse(await readFile(join(bundle.path, runcFile), "utf8")) as Partial<RuncCommand>;
    return { binary: saved.binary || fallback.binary, root: saved.root || fallback.root };
  } catch {
    return fallback;
  }
}

/** A pid file of the bundle (`init.pid`, `shim.pid`); undefined when missing or empty. */
export async function readPid(bundle: Bundle, name: string): Promise<number | undefined> {
  const pid = Number.parseInt((await bundle.read(name)) ?? "", 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** `runc delete --force`: the container's processes and runc's state go, whatever the shim left. */
export async function forceDeleteContainer(bundle: Bundle, runc: RuncCommand, logger: RuntimeLogger | undefined): Promise<void> {
  try {
    await runFile(runc.binary, ["--root", join(runc.root, bundle.namespace), "delete", "--force", bundle.id]);
  } catch (error) {
    logger?.debug({ namespace: bundle.namespace, id: bundle.id, err: error }, "runc delete after the shim");
  }
}

/** Removes the bundle (unmounting its rootfs), its work directory with the log FIFOs, and the shim's socket. */
export async function deleteBundle(bundle: Bundle): Promise<void> {
  const address = await bundle.read("address");
  if (address !== undefined) await unlink(socketPathOfAddress(address)).catch(() => undefined);
  await bundle.delete();
}

export function killProcess(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL, then waits (bounded) until the process is gone: a shim is not our child after a restart. */
export async function killAndWait(pid: number, timeoutMs = 5_000): Promise<void> {
  killProcess(pid);
  for (let waited = 0; waited < timeoutMs && alive(pid); waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
}
