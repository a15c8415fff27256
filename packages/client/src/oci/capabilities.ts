import { readFileSync } from "node:fs";
import type { OciCapabilities, OciSpec } from "./spec.js";

/** Linux capabilities by bit number, as far as containerd 1.6 knows them (its pkg/cap). */
const knownCapabilities = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
] as const;

/** The effective capabilities of this process that have a name (containerd's cap.Current), in bit order. */
export function currentCapabilities(status = readFileSync("/proc/self/status", "utf8")): string[] {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (hex === undefined) throw new Error("/proc/self/status: no CapEff line");
  const mask = BigInt(`0x${hex}`);
  return knownCapabilities.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

const capabilitiesOf = (spec: OciSpec): OciCapabilities => {
  const process = (spec.process ??= { user: { uid: 0, gid: 0 }, cwd: "" });
  return (process.capabilities ??= {});
};

/** Bounding, effective and permitted sets all hold `capabilities` (containerd's WithCapabilities). */
export const withCapabilities =
  (capabilities: readonly string[]) =>
  (spec: OciSpec): void => {
    const sets = capabilitiesOf(spec);
    sets.bounding = [...capabilities];
    sets.effective = [...capabilities];
    sets.permitted = [...capabilities];
  };

/** Every capability this process has (containerd's WithAllCurrentCapabilities). */
export const withAllCurrentCapabilities = (spec: OciSpec): void => withCapabilities(currentCapabilities())(spec);

function checkPrefix(capabilities: readonly string[]): void {
  // An untyped error, as containerd's: ctr prints it as it is.
  if (capabilities.some((capability) => !capability.startsWith("CAP_"))) throw new Error("capabilities must be specified with 'CAP_' prefix");
}

/** Adds each capability missing from the bounding, effective and permitted sets (containerd 1.6's WithAddedCapabilities). */
export const withAddedCapabilities =
  (capabilities: readonly string[]) =>
  (spec: OciSpec): void => {
    checkPrefix(capabilities);
    const sets = capabilitiesOf(spec);
    for (const capability of capabilities) {
      for (const set of ["bounding", "effective", "permitted"] as const) {
        const list = sets[set] ?? [];
        if (!list.includes(capability)) sets[set] = [...list, capability];
      }
    }
  };

/** Removes the capabilities from every set (containerd's WithDroppedCapabilities). */
export const withDroppedCapabilities =
  (capabilities: readonly string[]) =>
  (spec: OciSpec): void => {
    checkPrefix(capabilities);
    const sets = capabilitiesOf(spec);
    for (const set of ["bounding", "effective", "permitted", "inheritable", "ambient"] as const) {
      if (sets[set] !== undefined) sets[set] = sets[set].filter((capability) => !capabilities.includes(capability));
    }
  };
