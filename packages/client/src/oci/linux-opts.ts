import { readFile } from "node:fs/promises";
import { invalidArgument, notImplemented } from "@berth/api";
import { withAllCurrentCapabilities } from "./capabilities.js";
import { withAllDevicesAllowed, withHostDevices } from "./devices.js";
import { goPathError } from "./os-errors.js";
import type { SpecOpt } from "./opts.js";
import type { OciIdMapping, OciLinux, OciResources, OciSpec } from "./spec.js";

// containerd's Linux oci.With* options that ctr's run flags map to.

const linuxOf = (spec: OciSpec): OciLinux => (spec.linux ??= {});
const resourcesOf = (spec: OciSpec): OciResources => (linuxOf(spec).resources ??= {});

/** Writable /sys and cgroupfs, no masked or read-only paths, every capability this process has (containerd's WithPrivileged). */
export const withPrivileged: SpecOpt = (spec) => {
  withAllCurrentCapabilities(spec);
  delete linuxOf(spec).maskedPaths;
  delete linuxOf(spec).readonlyPaths;
  for (const mount of spec.mounts ?? []) {
    if (mount.type === "sysfs" || mount.type === "cgroup") mount.options = mount.options?.map((option) => (option === "ro" ? "rw" : option));
  }
  if (spec.process) delete spec.process.selinuxLabel;
};

/** `--privileged` as ctr 1.6 gives it: privileges, every device allowed, and the host's devices. */
export const withPrivilegedHost: SpecOpt[] = [withPrivileged, withAllDevicesAllowed, withHostDevices];

/** The process may gain privileges (setuid binaries work): containerd's WithNewPrivileges. */
export const withNewPrivileges: SpecOpt = (spec) => {
  if (spec.process) delete spec.process.noNewPrivileges;
};

export const withApparmorProfile =
  (profile: string): SpecOpt =>
  (spec) => {
    (spec.process ??= { user: { uid: 0, gid: 0 }, cwd: "" }).apparmorProfile = profile;
  };

/**
 * containerd's apparmor.WithDefaultProfile, for a profile the kernel already has loaded: Berth
 * does not generate and load containerd's default profile itself.
 */
export const withApparmorDefaultProfile =
  (name: string): SpecOpt =>
  async (spec, target) => {
    const path = "/sys/kernel/security/apparmor/profiles";
    const loaded = await readFile(path, "utf8").catch((error: unknown) => {
      throw new Error(goPathError("open", path, error));
    });
    if (!loaded.split("\n").some((line) => line.split(" ")[0] === name))
      throw notImplemented(`apparmor profile ${JSON.stringify(name)} is not loaded; load it first (Berth does not generate containerd's default profile)`);
    return withApparmorProfile(name)(spec, target);
  };

export const withMemoryLimit =
  (limit: number): SpecOpt =>
  (spec) => {
    const resources = resourcesOf(spec);
    resources.memory = { ...resources.memory, limit };
  };

export const withCpuShares =
  (shares: number): SpecOpt =>
  (spec) => {
    const resources = resourcesOf(spec);
    resources.cpu = { ...resources.cpu, shares };
  };

/** The CFS quota and period (containerd's WithCPUCFS). */
export const withCpuCfs =
  (quota: number, period: number): SpecOpt =>
  (spec) => {
    const resources = resourcesOf(spec);
    resources.cpu = { ...resources.cpu, quota, period };
  };

/** The container's cgroup; "" leaves it to the runtime (containerd's WithCgroup). */
export const withCgroup =
  (path: string): SpecOpt =>
  (spec) => {
    if (path === "") delete linuxOf(spec).cgroupsPath;
    else linuxOf(spec).cgroupsPath = path;
  };

/** The Intel RDT class of service (containerd's WithRdt, class only). */
export const withRdtClass =
  (closID: string): SpecOpt =>
  (spec) => {
    linuxOf(spec).intelRdt = { closID };
  };

export const withRootfsPropagation =
  (propagation: string): SpecOpt =>
  (spec) => {
    linuxOf(spec).rootfsPropagation = propagation;
  };

/** A user namespace with these id mappings (containerd's WithUserNamespace). */
export const withUserNamespace =
  (uidMappings: readonly OciIdMapping[], gidMappings: readonly OciIdMapping[]): SpecOpt =>
  (spec) => {
    const linux = linuxOf(spec);
    const namespaces = linux.namespaces ?? [];
    if (!namespaces.some((namespace) => namespace.type === "user")) linux.namespaces = [...namespaces, { type: "user" }];
    linux.uidMappings = [...(linux.uidMappings ?? []), ...uidMappings];
    linux.gidMappings = [...(linux.gidMappings ?? []), ...gidMappings];
  };

/** `container-id:host-id:size`, each a number in Go's notations (containerd's parseIDMapping in ctr). */
export function parseIdMapping(text: string): OciIdMapping {
  const parts = text.split(":");
  if (parts.length !== 3) throw invalidArgument("user namespace mappings require the format `container-id:host-id:size`");
  const [containerID, hostID, size] = parts.map((part, i) => {
    const value = /^(0x[0-9a-f]+|0o?[0-7]*|[1-9]\d*)$/i.test(part) ? Number(part.replace(/^0(?=[0-7])/, "0o")) : Number.NaN;
    if (!Number.isInteger(value) || value > 0xffffffff)
      throw invalidArgument(`invalid ${["container id", "host id", "size"][i]} for user namespace remapping: ${JSON.stringify(part)}`);
    return value;
  }) as [number, number, number];
  return { containerID, hostID, size };
}

/** containerd's WithSpecFromFile: the whole spec read from a JSON file. */
export const withSpecFromFile =
  (path: string): SpecOpt =>
  async (spec) => {
    const text = await readFile(path, "utf8").catch((error: unknown) => {
      throw invalidArgument(`cannot load spec config file: ${goPathError("open", path, error)}`);
    });
    let loaded: OciSpec;
    try {
      loaded = JSON.parse(text) as OciSpec;
    } catch (error) {
      throw invalidArgument(`decoding spec config file ${JSON.stringify(path)} failed: ${(error as Error).message}`);
    }
    for (const key of Object.keys(spec)) delete spec[key];
    Object.assign(spec, loaded);
  };

/** containerd's WithRootFSPath. */
export const withRootfsPath =
  (path: string): SpecOpt =>
  (spec) => {
    spec.root = { ...spec.root, path };
  };
