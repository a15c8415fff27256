import { readFileSync } from "node:fs";
import { mkdir, realpath, stat } from "node:fs/promises";
import type { criV1 } from "@berth/api/cri";
import {
  type ImageRunConfig,
  type OciMount,
  type OciSpec,
  type SpecOpt,
  currentCapabilities,
  replaceOrAppendEnv,
  withImageConfig,
  withUser,
} from "@berth/client";
import type { CriConfig } from "./config.js";
import { seccompFor } from "./seccomp.js";

const NODE = 2;
const CONTAINER = 1;
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** A CRI capability name (`sys_admin`, `CAP_SYS_ADMIN`) as the OCI spec's (`CAP_SYS_ADMIN`). */
const capabilityName = (name: string): string => {
  const upper = name.toUpperCase();
  return upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
};

/** containerd's cgroupsPath for a pod or container: under cgroup_parent, else `/k8s.io/<id>`. */
export function cgroupsPath(parent: string, id: string): string {
  if (parent === "") return `/k8s.io/${id}`;
  const base = parent.slice(parent.lastIndexOf("/") + 1);
  if (base.endsWith(".slice")) return `${base}:cri-containerd:${id}`;
  return `${parent.replace(/\/+$/, "")}/${id}`;
}

/** The oom_score_adj asked for, raised to the daemon's own when it may not lower it (restrict_oom_score_adj). */
export function oomScoreAdj(requested: number, restrict: boolean): number {
  if (!restrict) return requested;
  const own = Number(readFileSync("/proc/self/oom_score_adj", "utf8").trim());
  return Math.max(requested, own);
}

const removeNamespace = (spec: OciSpec, type: string) => {
  spec.linux!.namespaces = (spec.linux!.namespaces ?? []).filter((n) => n.type !== type);
};

const setNamespace = (spec: OciSpec, type: string, path: string) => {
  removeNamespace(spec, type);
  spec.linux!.namespaces!.push({ type, path });
};

const replaceMount = (spec: OciSpec, mount: OciMount) => {
  spec.mounts = [...(spec.mounts ?? []).filter((m) => m.destination !== mount.destination), mount];
};

export interface SandboxPaths {
  readonly resolvConf: string;
  readonly hostname: string;
  readonly hosts: string;
  readonly shm: string;
}

/** The pause container's spec (containerd's sandbox spec), after the image's config. */
export function sandboxSpecOpts(
  id: string,
  image: ImageRunConfig,
  config: criV1.PodSandboxConfig,
  cri: CriConfig,
  netns: string,
  paths: SandboxPaths,
): SpecOpt[] {
  const security = config.linux?.securityContext;
  const options = security?.namespaceOptions;
  const user =
    security?.runAsUser !== undefined ? `${security.runAsUser.value}${security.runAsGroup !== undefined ? `:${security.runAsGroup.value}` : ""}` : "";
  return [
    withImageConfig(image.process),
    ...(user !== "" ? [withUser(user)] : []),
    async (spec) => {
      const process = spec.process!;
      if ((process.args ?? []).length === 0) throw new Error("invalid empty entrypoint and cmd in image config");
      spec.mounts = (spec.mounts ?? []).filter((m) => m.destination !== "/run");
      delete process.rlimits;
      delete process.apparmorProfile;
      process.noNewPrivileges = true;
      process.user.additionalGids = [...new Set([...(process.user.additionalGids ?? []), ...(security?.supplementalGroups ?? [])])];
      spec.root = { path: "rootfs", readonly: true };
      spec.hostname = config.hostname;
      const linux = spec.linux!;
      if (options?.network === NODE) {
        removeNamespace(spec, "network");
        removeNamespace(spec, "uts");
      } else {
        setNamespace(spec, "network", netns);
      }
      if (options?.pid === NODE) removeNamespace(spec, "pid");
      if (options?.ipc === NODE) removeNamespace(spec, "ipc");
      const shm = options?.ipc === NODE ? "/dev/shm" : paths.shm;
      replaceMount(spec, { destination: "/dev/shm", type: "bind", source: shm, options: ["rbind", "ro"] });
      replaceMount(spec, { destination: "/etc/resolv.conf", type: "bind", source: paths.resolvConf, options: ["rbind", "ro"] });
      linux.cgroupsPath = cri.disable_cgroup ? "" : cgroupsPath(config.linux?.cgroupParent ?? "", id);
      linux.resources = { ...linux.resources, cpu: { shares: 2 } };
      const sysctl: Record<string, string> = { ...config.linux?.sysctls };
      if (options?.network !== NODE) {
        if (cri.enable_unprivileged_ports && !("net.ipv4.ip_unprivileged_port_start" in sysctl)) sysctl["net.ipv4.ip_unprivileged_port_start"] = "0";
        if (cri.enable_unprivileged_icmp && !("net.ipv4.ping_group_range" in sysctl)) sysctl["net.ipv4.ping_group_range"] = "0 2147483647";
      }
      if (Object.keys(sysctl).length > 0) linux.sysctl = sysctl;
      process.oomScoreAdj = oomScoreAdj(-998, cri.restrict_oom_score_adj);
      const seccomp = security?.privileged
        ? undefined
        : await seccompFor(security?.seccomp, security?.seccompProfilePath ?? "", spec, cri.unset_seccomp_profile);
      if (seccomp !== undefined) linux.seccomp = seccomp;
      const metadata = config.metadata!;
      const resources = config.linux?.resources;
      spec.annotations = {
        ...spec.annotations,
        "io.kubernetes.cri.container-type": "sandbox",
        "io.kubernetes.cri.sandbox-id": id,
        "io.kubernetes.cri.sandbox-namespace": metadata.namespace,
        "io.kubernetes.cri.sandbox-uid": metadata.uid,
        "io.kubernetes.cri.sandbox-name": metadata.name,
        "io.kubernetes.cri.sandbox-log-directory": config.logDirectory,
        ...(resources !== undefined
          ? {
              "io.kubernetes.cri.sandbox-cpu-period": String(resources.cpuPeriod),
              "io.kubernetes.cri.sandbox-cpu-quota": String(resources.cpuQuota),
              "io.kubernetes.cri.sandbox-cpu-shares": String(resources.cpuShares),
              "io.kubernetes.cri.sandbox-memory": String(resources.memoryLimitInBytes),
            }
          : {}),
      };
    },
  ];
}

type OciResources = NonNullable<NonNullable<OciSpec["linux"]>["resources"]>;

/** CRI resources onto OCI ones: cpu and cpuset only when set, memory with its swap, the cgroup v2 files. */
export function applyResources(current: OciResources, resources: criV1.LinuxContainerResources): OciResources {
  const next: OciResources = { ...current };
  const cpu: Record<string, unknown> = { ...(current.cpu as object | undefined) };
  if (resources.cpuPeriod) cpu.period = resources.cpuPeriod;
  if (resources.cpuQuota) cpu.quota = resources.cpuQuota;
  if (resources.cpuShares) cpu.shares = resources.cpuShares;
  if (resources.cpusetCpus) cpu.cpus = resources.cpusetCpus;
  if (resources.cpusetMems) cpu.mems = resources.cpusetMems;
  if (Object.keys(cpu).length > 0) next.cpu = cpu;
  if (resources.memoryLimitInBytes)
    next.memory = {
      ...(current.memory as object | undefined),
      limit: resources.memoryLimitInBytes,
      ...(resources.memorySwapLimitInBytes ? { swap: resources.memorySwapLimitInBytes } : {}),
    };
  if (Object.keys(resources.unified).length > 0) next.unified = { ...resources.unified };
  return next;
}

export interface ContainerSpecInput {
  readonly id: string;
  readonly sandboxId: string;
  readonly sandboxPid: number;
  readonly sandboxConfig: criV1.PodSandboxConfig;
  readonly sandboxPaths: SandboxPaths;
  readonly config: criV1.ContainerConfig;
  readonly image: ImageRunConfig;
  readonly imageName: string;
  readonly cri: CriConfig;
}

function userOf(security: criV1.LinuxContainerSecurityContext | undefined, imageUser: string): string {
  if (security?.runAsUsername) return security.runAsUsername;
  if (security?.runAsUser !== undefined) return `${security.runAsUser.value}${security.runAsGroup !== undefined ? `:${security.runAsGroup.value}` : ""}`;
  if (security?.runAsGroup !== undefined) throw new Error(`user group ${JSON.stringify(String(security.runAsGroup.value))} is specified without user`);
  return imageUser;
}

/** Checks what CreateContainer must refuse before anything is made. */
export function validateContainerConfig(config: criV1.ContainerConfig): void {
  const security = config.linux?.securityContext;
  if (security?.runAsGroup !== undefined && security.runAsUser === undefined && !security.runAsUsername) {
    throw new Error(`failed to generate spec opts: user group ${JSON.stringify(String(security.runAsGroup.value))} is specified without user`);
  }
}

/** The propagation of the mount `path` lives on: its mount point and whether it is shared or a slave (mountinfo's optional fields). */
function mountPropagationOf(path: string): { mountPoint: string; shared: boolean; slave: boolean } {
  let best = { mountPoint: "/", shared: false, slave: false };
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    const mountPoint = fields[4];
    if (mountPoint === undefined) continue;
    const inside = path === mountPoint || path.startsWith(mountPoint.endsWith("/") ? mountPoint : `${mountPoint}/`);
    if (!inside || mountPoint.length < best.mountPoint.length) continue;
    const optional = fields.slice(6, fields.indexOf("-"));
    best = { mountPoint, shared: optional.some((f) => f.startsWith("shared:")), slave: optional.some((f) => f.startsWith("master:")) };
  }
  return best;
}

async function bindMount(mount: criV1.Mount): Promise<{ oci: OciMount; propagation?: string }> {
  // A missing host path is made, as containerd does; a symlink is followed.
  await mkdir(mount.hostPath, { recursive: true, mode: 0o755 }).catch(() => undefined);
  const source = await realpath(mount.hostPath).catch(() => mount.hostPath);
  const options = ["rbind"];
  let propagation: string | undefined;
  if (mount.propagation === 1) {
    const { mountPoint, shared, slave } = mountPropagationOf(source);
    if (!shared && !slave)
      throw new Error(
        `failed to generate spec opts: path ${JSON.stringify(source)} is mounted on ${JSON.stringify(mountPoint)} but it is not a shared or slave mount`,
      );
    options.push("rslave");
    propagation = "rslave";
  } else if (mount.propagation === 2) {
    const { mountPoint, shared } = mountPropagationOf(source);
    if (!shared)
      throw new Error(`failed to generate spec opts: path ${JSON.stringify(source)} is mounted on ${JSON.stringify(mountPoint)} but it is not a shared mount`);
    options.push("rshared");
    propagation = "rshared";
  } else options.push("rprivate");
  options.push(mount.readonly ? "ro" : "rw");
  return { oci: { destination: mount.containerPath, type: "bind", source, options }, ...(propagation ? { propagation } : {}) };
}

/** A host device for linux.devices and the device cgroup rule that lets the container use it. */
async function deviceOf(
  device: criV1.Device,
): Promise<{ device: Record<string, unknown>; rule: { allow: boolean; type: string; major: number; minor: number; access: string } }> {
  const path = await realpath(device.hostPath);
  const info = await stat(path);
  const type = info.isCharacterDevice() ? "c" : info.isBlockDevice() ? "b" : undefined;
  if (type === undefined) throw new Error(`failed to generate spec opts: ${JSON.stringify(device.hostPath)} is not a device node`);
  const major = Number((BigInt(info.rdev) >> 8n) & 0xfffn) | Number((BigInt(info.rdev) >> 32n) & ~0xfffn);
  const minor = Number(BigInt(info.rdev) & 0xffn) | Number((BigInt(info.rdev) >> 12n) & ~0xffn);
  return {
    device: { path: device.containerPath, type, major, minor, fileMode: info.mode & 0o777, uid: info.uid, gid: info.gid },
    rule: { allow: true, type, major, minor, access: device.permissions || "rwm" },
  };
}

/** An app container's spec: containerd's defaults, the image config, then the CRI config. */
export function containerSpecOpts(input: ContainerSpecInput): SpecOpt[] {
  const { config, cri, image } = input;
  const security = config.linux?.securityContext;
  const user = userOf(security, image.process.User ?? "");
  return [
    withImageConfig({ ...image.process, User: "" }),
    ...(user !== "" ? [withUser(user)] : []),
    async (spec) => {
      const process = spec.process!;
      const linux = spec.linux!;
      // args: command replaces the entrypoint, args the cmd.
      const entrypoint =
        config.command.length > 0 ? config.command : [...(image.process.Entrypoint ?? [])].filter((a, i, all) => !(all.length === 1 && a === ""));
      const args = config.command.length > 0 || config.args.length > 0 ? config.args : [...(image.process.Cmd ?? [])];
      process.args = [...entrypoint, ...args];
      if (process.args.length === 0) throw new Error("failed to generate spec opts: no command specified");
      const hostname = input.sandboxConfig.hostname || (await import("node:os")).hostname();
      process.env = replaceOrAppendEnv(
        [defaultPath, `HOSTNAME=${hostname}`, ...(image.process.Env ?? [])],
        config.envs.map((e) => `${e.key}=${e.value}`),
      );
      process.cwd = config.workingDir || image.process.WorkingDir || "/";
      process.terminal = config.tty;
      delete process.rlimits;
      delete process.apparmorProfile;
      process.noNewPrivileges = security?.noNewPrivs ?? false;
      process.user.additionalGids = [...new Set([...(process.user.additionalGids ?? []), ...(security?.supplementalGroups ?? [])])].sort((a, b) => a - b);
      // Mounts: CRI mounts, the sandbox's files, then the defaults they do not cover.
      const criMounts: OciMount[] = [];
      for (const mount of config.mounts) {
        const { oci, propagation } = await bindMount(mount);
        criMounts.push(oci);
        if (propagation === "rshared" || (propagation === "rslave" && linux.rootfsPropagation !== "rshared")) linux.rootfsPropagation = propagation;
      }
      const covered = new Set(criMounts.map((m) => m.destination));
      const readonlyRootfs = security?.readonlyRootfs ?? false;
      const extra: OciMount[] = [];
      const sandboxFile = (destination: string, source: string) => {
        if (!covered.has(destination)) extra.push({ destination, type: "bind", source, options: ["rbind", "rprivate", readonlyRootfs ? "ro" : "rw"] });
      };
      sandboxFile("/etc/hostname", input.sandboxPaths.hostname);
      sandboxFile("/etc/hosts", input.sandboxPaths.hosts);
      sandboxFile("/etc/resolv.conf", input.sandboxPaths.resolvConf);
      const ipcNode = security?.namespaceOptions?.ipc === NODE;
      if (!covered.has("/dev/shm"))
        extra.push({ destination: "/dev/shm", type: "bind", source: ipcNode ? "/dev/shm" : input.sandboxPaths.shm, options: ["rbind", "rprivate", "rw"] });
      const all = [...criMounts, ...extra];
      const destinations = new Set(all.map((m) => m.destination));
      const privileged = security?.privileged ?? false;
      spec.mounts = [
        ...(spec.mounts ?? []).filter((m) => !destinations.has(m.destination) && !(destinations.has("/dev") && m.destination.startsWith("/dev/"))),
        { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro"] },
        ...all.sort((a, b) => a.destination.split("/").length - b.destination.split("/").length),
      ];
      if (readonlyRootfs) spec.root = { path: "rootfs", readonly: true };
      // Privileges.
      const everything = currentCapabilities();
      let capabilities = process.capabilities?.bounding ?? [];
      if (privileged) {
        if (!input.sandboxConfig.linux?.securityContext?.privileged) throw new Error("no privileged container allowed in sandbox");
        capabilities = everything;
        linux.maskedPaths = [];
        linux.readonlyPaths = [];
        spec.mounts = spec.mounts.map((m) => (m.destination === "/sys" ? { ...m, options: (m.options ?? []).filter((o) => o !== "ro").concat("rw") } : m));
        linux.resources = { ...linux.resources, devices: [{ allow: true, access: "rwm" }] };
      } else {
        const add = (security?.capabilities?.addCapabilities ?? []).map(capabilityName);
        const drop = (security?.capabilities?.dropCapabilities ?? []).map(capabilityName);
        if (add.includes("CAP_ALL")) capabilities = everything;
        if (drop.includes("CAP_ALL")) capabilities = [];
        capabilities = [...new Set([...capabilities, ...add.filter((c) => c !== "CAP_ALL")])].filter((c) => !drop.includes(c));
        if (!cri.disable_proc_mount) {
          linux.maskedPaths = [...(security?.maskedPaths ?? [])];
          linux.readonlyPaths = [...(security?.readonlyPaths ?? [])];
        }
      }
      process.capabilities = { bounding: capabilities, effective: [...capabilities], permitted: [...capabilities] };
      for (const requested of config.devices) {
        const { device, rule } = await deviceOf(requested);
        (linux as Record<string, unknown>).devices = [...((linux.devices as unknown[] | undefined) ?? []), device];
        linux.resources = { ...linux.resources, devices: [...(linux.resources?.devices ?? []), rule] };
      }
      // Namespaces: the sandbox's network, ipc and uts; pid per the config.
      const proc = `/proc/${input.sandboxPid}/ns`;
      const sandboxOptions = input.sandboxConfig.linux?.securityContext?.namespaceOptions;
      if (sandboxOptions?.network !== NODE) setNamespace(spec, "network", `${proc}/net`);
      else removeNamespace(spec, "network");
      if (sandboxOptions?.ipc !== NODE) setNamespace(spec, "ipc", `${proc}/ipc`);
      else removeNamespace(spec, "ipc");
      if (sandboxOptions?.network !== NODE) setNamespace(spec, "uts", `${proc}/uts`);
      else removeNamespace(spec, "uts");
      const pidMode = security?.namespaceOptions?.pid ?? 0;
      if (pidMode === NODE || sandboxOptions?.pid === NODE) removeNamespace(spec, "pid");
      else if (pidMode !== CONTAINER) setNamespace(spec, "pid", `${proc}/pid`);
      // Cgroups and resources.
      linux.cgroupsPath = cri.disable_cgroup ? "" : cgroupsPath(input.sandboxConfig.linux?.cgroupParent ?? "", input.id);
      const resources = config.linux?.resources;
      if (resources !== undefined) {
        linux.resources = applyResources(linux.resources ?? {}, resources);
        process.oomScoreAdj = oomScoreAdj(resources.oomScoreAdj, cri.restrict_oom_score_adj);
      }
      const seccomp = privileged ? undefined : await seccompFor(security?.seccomp, security?.seccompProfilePath ?? "", spec, cri.unset_seccomp_profile);
      if (seccomp !== undefined) linux.seccomp = seccomp;
      const metadata = input.sandboxConfig.metadata!;
      spec.annotations = {
        ...spec.annotations,
        "io.kubernetes.cri.container-type": "container",
        "io.kubernetes.cri.sandbox-id": input.sandboxId,
        "io.kubernetes.cri.sandbox-namespace": metadata.namespace,
        "io.kubernetes.cri.sandbox-uid": metadata.uid,
        "io.kubernetes.cri.sandbox-name": metadata.name,
        "io.kubernetes.cri.container-name": config.metadata!.name,
        "io.kubernetes.cri.image-name": input.imageName,
      };
    },
  ];
}
