import { constants, type BigIntStats } from "node:fs";
import { lstat, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { goPathError } from "./os-errors.js";
import type { OciDevice, OciSpec } from "./spec.js";

// Directories of /dev that hold no device a container should get (containerd's getDevices).
const skippedDirectories = new Set(["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"]);

/** Linux's dev_t split as glibc's major()/minor(). */
function deviceNumbers(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

function deviceType(stats: BigIntStats): "b" | "c" | "p" | undefined {
  const type = Number(stats.mode) & constants.S_IFMT;
  return type === constants.S_IFBLK ? "b" : type === constants.S_IFCHR ? "c" : type === constants.S_IFIFO ? "p" : undefined;
}

/** The device node at `path` (not following a symlink), as the runtime spec describes it; undefined when it is none. */
async function deviceFromPath(path: string): Promise<OciDevice | undefined> {
  const stats = await lstat(path, { bigint: true });
  const type = deviceType(stats);
  if (type === undefined) return undefined;
  return { path, type, ...deviceNumbers(stats.rdev), fileMode: Number(stats.mode) & 0o7777, uid: Number(stats.uid), gid: Number(stats.gid) };
}

/** The device at `path`, or every device under the directory `path`, in name order (containerd's getDevices). */
export async function devicesAt(path: string): Promise<OciDevice[]> {
  // Untyped errors with Go's texts, as containerd's getDevices gives them.
  const stats = await stat(path).catch((error: unknown) => {
    throw new Error(`error stating device path: ${goPathError("stat", path, error)}`);
  });
  if (!stats.isDirectory()) {
    const device = await deviceFromPath(path);
    if (device === undefined) throw new Error("not a device node");
    return [device];
  }
  const devices: OciDevice[] = [];
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) {
      if (!skippedDirectories.has(entry.name)) devices.push(...(await devicesAt(child)));
      continue;
    }
    if (entry.name === "console") continue;
    const device = await deviceFromPath(child).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (device !== undefined && device.type !== "p") devices.push(device);
  }
  return devices;
}

const linuxOf = (spec: OciSpec) => (spec.linux ??= {});

/** The devices at `path` in the container, each with a cgroup rule allowing `access` (containerd's WithDevices). */
export const withDevices =
  (path: string, access = "rwm") =>
  async (spec: OciSpec): Promise<void> => {
    const linux = linuxOf(spec);
    const resources = (linux.resources ??= {});
    for (const device of await devicesAt(path)) {
      linux.devices = [...(linux.devices ?? []), device];
      resources.devices = [...(resources.devices ?? []), { allow: true, type: device.type, major: device.major, minor: device.minor, access }];
    }
  };

/** Every device of the host's /dev (containerd's WithHostDevices). */
export const withHostDevices = async (spec: OciSpec): Promise<void> => {
  const linux = linuxOf(spec);
  linux.devices = [...(linux.devices ?? []), ...(await devicesAt("/dev"))];
};

/** One cgroup rule allowing every device (containerd's WithAllDevicesAllowed). */
export const withAllDevicesAllowed = (spec: OciSpec): void => {
  (linuxOf(spec).resources ??= {}).devices = [{ allow: true, access: "rwm" }];
};
