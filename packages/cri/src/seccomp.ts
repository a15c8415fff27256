import { readFile } from "node:fs/promises";
import { invalidArgument } from "@berth/api";

export interface OciSeccomp {
  defaultAction: string;
  architectures?: string[];
  syscalls?: { names: string[]; action: string; errnoRet?: number; args?: unknown[] }[];
}

/**
 * Syscalls the runtime default profile refuses (EPERM) unless the container holds the capability
 * that grants them, as containerd's default profile gates them; everything else is allowed. The
 * kernel still checks capabilities; the filter is the second line.
 */
const gated: Record<string, readonly string[]> = {
  CAP_SYS_ADMIN: ["bpf", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"],
  CAP_SYS_BOOT: ["reboot"],
  CAP_SYS_CHROOT: ["chroot"],
  CAP_SYS_MODULE: ["delete_module", "init_module", "finit_module"],
  CAP_SYS_PACCT: ["acct"],
  CAP_SYS_PTRACE: ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"],
  CAP_SYS_RAWIO: ["iopl", "ioperm"],
  CAP_SYS_TIME: ["settimeofday", "stime", "clock_settime", "clock_settime64"],
  CAP_SYS_TTY_CONFIG: ["vhangup"],
  CAP_SYS_NICE: ["get_mempolicy", "mbind", "set_mempolicy"],
  CAP_SYSLOG: ["syslog"],
};
const alwaysRefused = ["add_key", "keyctl", "request_key", "kexec_file_load", "kexec_load", "open_by_handle_at", "nfsservctl", "swapon", "swapoff", "userfaultfd", "uselib", "vm86", "vm86old", "get_kernel_syms", "query_module", "create_module"];

const architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

/** The runtime default profile for a process holding `capabilities` (bounding set). */
export function defaultSeccompProfile(capabilities: readonly string[]): OciSeccomp {
  const held = new Set(capabilities);
  const refused = new Set(alwaysRefused);
  for (const [capability, names] of Object.entries(gated)) if (!held.has(capability)) for (const name of names) refused.add(name);
  // syslog is allowed by either capability.
  if (held.has("CAP_SYS_ADMIN") || held.has("CAP_SYSLOG")) refused.delete("syslog");
  return { defaultAction: "SCMP_ACT_ALLOW", architectures, syscalls: [{ names: [...refused].sort(), action: "SCMP_ACT_ERRNO", errnoRet: 1 }] };
}

/** A profile file (Docker's or the OCI's JSON) as the OCI spec's `linux.seccomp`. */
export async function loadSeccompProfile(path: string): Promise<OciSeccomp> {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw invalidArgument(`failed to load seccomp profile ${JSON.stringify(path)}: ${(error as Error).message}`);
  }
  const archMap = parsed.archMap as { architecture: string; subArchitectures?: string[] }[] | undefined;
  const arches = (parsed.architectures as string[] | undefined) ?? archMap?.flatMap((a) => [a.architecture, ...(a.subArchitectures ?? [])]);
  const syscalls = ((parsed.syscalls as Record<string, unknown>[] | undefined) ?? []).map((s) => ({
    names: (s.names as string[] | undefined) ?? (s.name ? [s.name as string] : []),
    action: s.action as string,
    ...(s.errnoRet !== undefined ? { errnoRet: s.errnoRet as number } : {}),
    ...(s.args ? { args: s.args as unknown[] } : {}),
  }));
  return { defaultAction: parsed.defaultAction as string, ...(arches ? { architectures: arches } : {}), syscalls };
}

/**
 * The seccomp of a sandbox or container from the deprecated path string (what critest sends) or
 * the SecurityProfile: undefined means unconfined.
 */
export async function seccompFor(
  profile: { profileType: number; localhostRef: string } | undefined,
  path: string,
  capabilities: readonly string[],
  unsetProfile: string,
): Promise<OciSeccomp | undefined> {
  if (profile !== undefined) {
    if (profile.profileType === 1) return undefined;
    if (profile.profileType === 2) return loadSeccompProfile(profile.localhostRef);
    return defaultSeccompProfile(capabilities);
  }
  const value = path === "" ? unsetProfile : path;
  if (value === "" || value === "unconfined") return undefined;
  if (value === "runtime/default" || value === "docker/default") return defaultSeccompProfile(capabilities);
  if (value.startsWith("localhost/")) return loadSeccompProfile(value.slice("localhost/".length));
  throw new Error(`failed to generate seccomp spec opts: invalid profile ${JSON.stringify(value)}`);
}
