import { readFile } from "node:fs/promises";
import { invalidArgument } from "@berth/api";
import { defaultSeccompProfile, type OciSeccomp, type OciSpec, type OciSyscall } from "@berth/client";

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
    ...(s.args ? { args: s.args as OciSyscall["args"] } : {}),
  }));
  return { defaultAction: parsed.defaultAction as string, ...(arches ? { architectures: arches } : {}), syscalls };
}

/**
 * The seccomp of a sandbox or container from the deprecated path string (what critest sends) or
 * the SecurityProfile: undefined means unconfined. The runtime default is containerd's default
 * profile (what `ctr run --seccomp` gives), so the bounding capabilities in `spec` must be final.
 */
export async function seccompFor(
  profile: { profileType: number; localhostRef: string } | undefined,
  path: string,
  spec: OciSpec,
  unsetProfile: string,
): Promise<OciSeccomp | undefined> {
  if (profile !== undefined) {
    if (profile.profileType === 1) return undefined;
    if (profile.profileType === 2) return loadSeccompProfile(profile.localhostRef);
    return defaultSeccompProfile(spec);
  }
  const value = path === "" ? unsetProfile : path;
  if (value === "" || value === "unconfined") return undefined;
  if (value === "runtime/default" || value === "docker/default") return defaultSeccompProfile(spec);
  if (value.startsWith("localhost/")) return loadSeccompProfile(value.slice("localhost/".length));
  throw new Error(`failed to generate seccomp spec opts: invalid profile ${JSON.stringify(value)}`);
}
