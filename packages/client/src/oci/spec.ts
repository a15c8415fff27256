import { type Any, jsonTypeUrls, packJson } from "@berth/api";

// The OCI runtime spec (1.0.2), the parts Berth sets; other fields pass through untouched.
export interface OciUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

export interface OciCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: OciUser;
  args?: string[];
  env?: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  rlimits?: { type: string; hard: number; soft: number }[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciNamespace {
  type: string;
  path?: string;
}

export interface OciDeviceRule {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciDevice {
  path: string;
  type: string;
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciResources {
  devices?: OciDeviceRule[];
  memory?: { limit?: number; [field: string]: unknown };
  cpu?: { shares?: number; quota?: number; period?: number; [field: string]: unknown };
  [field: string]: unknown;
}

export interface OciLinux {
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  resources?: OciResources;
  cgroupsPath?: string;
  namespaces?: OciNamespace[];
  devices?: OciDevice[];
  rootfsPropagation?: string;
  intelRdt?: { closID?: string; [field: string]: unknown };
  maskedPaths?: string[];
  readonlyPaths?: string[];
  [field: string]: unknown;
}

export interface OciSpec {
  ociVersion: string;
  process?: OciProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  mounts?: OciMount[];
  annotations?: Record<string, string>;
  linux?: OciLinux;
  [field: string]: unknown;
}

/** The runtime-spec version containerd 1.6 writes. */
export const ociVersion = "1.0.2-dev";

const defaultCapabilities = () => [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

const defaultMounts = (): OciMount[] => [
  { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
  { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
  { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
  { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
  { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
  { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
  { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
];

// null, zero, random, full, tty, urandom, console, ptmx, pts/* and tty0: what every container may use.
const allowedCharDevices: [number, number | undefined][] = [
  [1, 3],
  [1, 8],
  [1, 7],
  [5, 0],
  [1, 5],
  [1, 9],
  [5, 1],
  [136, undefined],
  [5, 2],
];

/**
 * containerd 1.6's default Linux spec for container `id` in `namespace` (oci.populateDefaultUnixSpec
 * plus ctr's default devices): root "rootfs", the default mounts, pid/ipc/uts/mount/network
 * namespaces, Docker's default capabilities, 1024 open files, masked and read-only /proc and /sys
 * paths, and the cgroup `/<namespace>/<id>`.
 */
export function defaultSpec(namespace: string, id: string): OciSpec {
  const capabilities = defaultCapabilities();
  return {
    ociVersion,
    process: {
      user: { uid: 0, gid: 0 },
      cwd: "/",
      capabilities: { bounding: capabilities, effective: [...capabilities], permitted: [...capabilities] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs" },
    mounts: defaultMounts(),
    linux: {
      resources: {
        devices: [
          { allow: false, access: "rwm" },
          ...allowedCharDevices.map(([major, minor]): OciDeviceRule => ({
            allow: true,
            type: "c",
            major,
            ...(minor === undefined ? {} : { minor }),
            access: "rwm",
          })),
        ],
      },
      cgroupsPath: `/${namespace}/${id}`,
      namespaces: ["pid", "ipc", "uts", "mount", "network"].map((type) => ({ type })),
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

/**
 * Field order of the Go structs (runtime-spec's specs-go), so that a spec Berth writes reads the
 * same as one containerd writes when printed as stored. Fields not listed keep their place after.
 */
const goFieldOrder: Readonly<Record<string, readonly (readonly [string, string?])[]>> = {
  Spec: [
    ["ociVersion"],
    ["process", "Process"],
    ["root", "Root"],
    ["hostname"],
    ["mounts", "Mount"],
    ["hooks"],
    ["annotations", "Map"],
    ["linux", "Linux"],
    ["solaris"],
    ["windows"],
    ["vm"],
  ],
  Process: [
    ["terminal"],
    ["consoleSize", "ConsoleSize"],
    ["user", "User"],
    ["args"],
    ["commandLine"],
    ["env"],
    ["cwd"],
    ["capabilities", "Capabilities"],
    ["rlimits", "Rlimit"],
    ["noNewPrivileges"],
    ["apparmorProfile"],
    ["oomScoreAdj"],
    ["selinuxLabel"],
  ],
  ConsoleSize: [["height"], ["width"]],
  User: [["uid"], ["gid"], ["umask"], ["additionalGids"], ["username"]],
  Capabilities: [["bounding"], ["effective"], ["inheritable"], ["permitted"], ["ambient"]],
  Rlimit: [["type"], ["hard"], ["soft"]],
  Root: [["path"], ["readonly"]],
  Mount: [["destination"], ["type"], ["source"], ["options"]],
  Linux: [
    ["uidMappings", "IdMapping"],
    ["gidMappings", "IdMapping"],
    ["sysctl", "Map"],
    ["resources", "Resources"],
    ["cgroupsPath"],
    ["namespaces", "Namespace"],
    ["devices", "Device"],
    ["seccomp", "Seccomp"],
    ["rootfsPropagation"],
    ["maskedPaths"],
    ["readonlyPaths"],
    ["mountLabel"],
    ["intelRdt", "IntelRdt"],
    ["personality"],
  ],
  IdMapping: [["containerID"], ["hostID"], ["size"]],
  Resources: [["devices", "DeviceRule"], ["memory", "Memory"], ["cpu", "Cpu"], ["pids"], ["blockIO"], ["hugepageLimits"], ["network"], ["rdma"], ["unified"]],
  DeviceRule: [["allow"], ["type"], ["major"], ["minor"], ["access"]],
  Memory: [["limit"], ["reservation"], ["swap"], ["kernel"], ["kernelTCP"], ["swappiness"], ["disableOOMKiller"], ["useHierarchy"]],
  Cpu: [["shares"], ["quota"], ["period"], ["realtimeRuntime"], ["realtimePeriod"], ["cpus"], ["mems"]],
  Namespace: [["type"], ["path"]],
  Device: [["path"], ["type"], ["major"], ["minor"], ["fileMode"], ["uid"], ["gid"]],
  Seccomp: [["defaultAction"], ["defaultErrnoRet"], ["architectures"], ["flags"], ["listenerPath"], ["listenerMetadata"], ["syscalls", "Syscall"]],
  Syscall: [["names"], ["action"], ["errnoRet"], ["args", "SeccompArg"]],
  SeccompArg: [["index"], ["value"], ["valueTwo"], ["op"]],
  IntelRdt: [["closID"], ["l3CacheSchema"], ["memBwSchema"]],
};

function inGoOrder(value: unknown, type: string | undefined): unknown {
  if (type === undefined || value === null || typeof value !== "object") return value;
  // Go writes the keys of a map sorted.
  if (type === "Map") return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (Array.isArray(value)) return value.map((item) => inGoOrder(item, type));
  const fields = goFieldOrder[type] ?? [];
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, fieldType] of fields) if (source[name] !== undefined) out[name] = inGoOrder(source[name], fieldType);
  for (const [name, field] of Object.entries(source)) if (!(name in out) && field !== undefined) out[name] = field;
  return out;
}

/** A decoded spec with its fields in Go's order, as containerd's tools print one. */
export const specInGoOrder = (spec: unknown): unknown => inGoOrder(spec, "Spec");

/** A spec as the `Any` a container record carries: JSON in Go's field order. */
export function specAny(spec: OciSpec): Any {
  return packJson(jsonTypeUrls.runtimeSpec, inGoOrder(spec, "Spec"));
}

/** A process spec as the `Any` an exec carries. */
export function processAny(process: OciProcess): Any {
  return packJson(jsonTypeUrls.process, inGoOrder(process, "Process"));
}
