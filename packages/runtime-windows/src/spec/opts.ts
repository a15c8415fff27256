import { errorOfKind, invalidArgument } from "@berth/api";
import { escapeAndCombineArgs } from "./escape.js";
import type { WindowsDevice, WindowsProcess, WindowsResources, WindowsSpec } from "./types.js";

/** The runtime-spec version containerd 1.6 writes; 1.7 writes `ociVersion17`. */
export const ociVersion = "1.0.2-dev";
export const ociVersion17 = "1.1.0-rc.1";

/** A change to a Windows spec, as containerd's `oci.SpecOpts`; applied in order. */
export type WindowsSpecOpt = (spec: WindowsSpec) => void;

/**
 * containerd's default spec for the Windows platform (`populateDefaultWindowsSpec`): user 0:0,
 * cwd `C:\`, an empty root path and no layer folders; no mounts, capabilities or environment.
 */
export function defaultWindowsSpec(version: string = ociVersion): WindowsSpec {
  return { ociVersion: version, process: { user: { uid: 0, gid: 0 }, cwd: "C:\\" }, root: { path: "" }, windows: { layerFolders: null } };
}

/** `defaultWindowsSpec` with `opts` applied in order (containerd's GenerateSpecWithPlatform for windows/*). */
export function generateWindowsSpec(opts: readonly WindowsSpecOpt[], version: string = ociVersion): WindowsSpec {
  const spec = defaultWindowsSpec(version);
  for (const opt of opts) opt(spec);
  return spec;
}

const processOf = (spec: WindowsSpec): WindowsProcess => (spec.process ??= { user: { uid: 0, gid: 0 }, cwd: "" });
const resourcesOf = (spec: WindowsSpec): WindowsResources => (spec.windows.resources ??= {});

/** containerd's replaceOrAppendEnvValues: `KEY=value` replaces in place or appends; a bare `KEY` removes. */
export function replaceOrAppendEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const index = new Map<string, number>();
  const results: (string | undefined)[] = [...defaults];
  defaults.forEach((entry, i) => index.set(entry.split("=", 1)[0]!, i));
  for (const value of overrides) {
    const equals = value.indexOf("=");
    const at = index.get(equals === -1 ? value : value.slice(0, equals));
    if (equals === -1) {
      if (at !== undefined) results[at] = undefined;
    } else if (at !== undefined) results[at] = value;
    else results.push(value);
  }
  return results.filter((entry): entry is string => entry !== undefined);
}

/** The part of an image's config (OCI `config` plus Docker's `ArgsEscaped`) a Windows spec is made from. */
export interface WindowsImageConfig {
  readonly User?: string;
  readonly Env?: readonly string[] | null;
  readonly Entrypoint?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  readonly WorkingDir?: string;
  /** Docker's: Entrypoint and Cmd are each one pre-escaped command line. */
  readonly ArgsEscaped?: boolean;
}

/**
 * containerd's WithImageConfigArgs on Windows: the image's environment under the spec's; the
 * entrypoint followed by `args` (or, without them, the image's Cmd); cwd and user from the image
 * (the user replaces the spec's, so it carries only the username). With `ArgsEscaped` and a
 * command that came (at least in part) from the image, the result is a `commandLine`: the first
 * element as the image wrote it, the rest escaped; otherwise plain `args`.
 */
export const withImageConfigArgs =
  (config: WindowsImageConfig, args: readonly string[] = []): WindowsSpecOpt =>
  (spec) => {
    const process = processOf(spec);
    const env = replaceOrAppendEnv(config.Env ?? [], process.env ?? []);
    if (env.length > 0) process.env = env;
    else delete process.env;
    const fromImage = args.length === 0;
    const command = [...(config.Entrypoint ?? []), ...(fromImage ? (config.Cmd ?? []) : args)];
    if (command.length === 0)
      // containerd returns a plain Go error here (kind Unknown), not an errdefs one.
      throw errorOfKind("Unknown", "no arguments specified");
    if (config.ArgsEscaped && ((config.Entrypoint ?? []).length > 0 || fromImage)) {
      delete process.args;
      process.commandLine = command.length > 1 ? `${command[0]} ${escapeAndCombineArgs(command.slice(1))}` : command[0]!;
    } else {
      process.args = command;
      delete process.commandLine;
    }
    process.cwd = config.WorkingDir ?? "";
    process.user = config.User ? { uid: 0, gid: 0, username: config.User } : { uid: 0, gid: 0 };
  };

export const withImageConfig = (config: WindowsImageConfig): WindowsSpecOpt => withImageConfigArgs(config);

export const withEnv =
  (env: readonly string[]): WindowsSpecOpt =>
  (spec) => {
    if (env.length === 0) return;
    const process = processOf(spec);
    process.env = replaceOrAppendEnv(process.env ?? [], env);
  };

export const withProcessArgs =
  (...args: string[]): WindowsSpecOpt =>
  (spec) => {
    const process = processOf(spec);
    process.args = args;
    delete process.commandLine;
  };

/** The process as one Windows command line (args are dropped). */
export const withProcessCommandLine =
  (commandLine: string): WindowsSpecOpt =>
  (spec) => {
    const process = processOf(spec);
    delete process.args;
    process.commandLine = commandLine;
  };

export const withProcessCwd =
  (cwd: string): WindowsSpecOpt =>
  (spec) => {
    processOf(spec).cwd = cwd;
  };

export const withHostname =
  (hostname: string): WindowsSpecOpt =>
  (spec) => {
    spec.hostname = hostname;
  };

/** A terminal; unlike Linux, no TERM is added. */
export const withTty: WindowsSpecOpt = (spec) => {
  processOf(spec).terminal = true;
};

export const withTtySize =
  (width: number, height: number): WindowsSpecOpt =>
  (spec) => {
    processOf(spec).consoleSize = { height, width };
  };

/** The user by name (resolved inside the container); the primary gid joins the additional ones, as containerd's WithUser leaves it. */
export const withUser =
  (user: string): WindowsSpecOpt =>
  (spec) => {
    const process = processOf(spec);
    process.user = { ...process.user, username: user, additionalGids: [process.user.gid] };
  };

export const withAnnotations =
  (annotations: Readonly<Record<string, string>>): WindowsSpecOpt =>
  (spec) => {
    if (Object.keys(annotations).length === 0) return;
    spec.annotations = { ...spec.annotations, ...annotations };
  };

/** `windows.resources.memory.limit`, in bytes. */
export const withMemoryLimit =
  (limit: number): WindowsSpecOpt =>
  (spec) => {
    resourcesOf(spec).memory = { ...resourcesOf(spec).memory, limit };
  };

/** `windows.resources.cpu.count`. */
export const withCpuCount =
  (count: number): WindowsSpecOpt =>
  (spec) => {
    resourcesOf(spec).cpu = { ...resourcesOf(spec).cpu, count };
  };

/** Hyper-V isolation: the container runs in a utility VM. */
export const withHyperV: WindowsSpecOpt = (spec) => {
  spec.windows.hyperv = {};
};

/** The HNS network namespace the container joins. */
export const withNetworkNamespace =
  (namespace: string): WindowsSpecOpt =>
  (spec) => {
    spec.windows.network = { ...spec.windows.network, networkNamespace: namespace };
  };

export const withAllowUnqualifiedDnsQuery: WindowsSpecOpt = (spec) => {
  spec.windows.network = { ...spec.windows.network, allowUnqualifiedDNSQuery: true };
};

export const withIgnoreFlushesDuringBoot: WindowsSpecOpt = (spec) => {
  spec.windows.ignoreFlushesDuringBoot = true;
};

/** A device assigned to the container (containerd 1.7's WithWindowsDevice), e.g. `class` + an interface GUID. */
export const withDevice =
  (idType: string, id: string): WindowsSpecOpt =>
  (spec) => {
    if (idType === "") throw invalidArgument("missing idType");
    const device: WindowsDevice = { id, idType };
    spec.windows.devices = [...(spec.windows.devices ?? []), device];
  };
