/**
 * `@berth/runtime-windows/spec`: the Windows OCI runtime spec as containerd makes it, with no
 * dependency beyond `@berth/api`, so that clients can make one without loading the runtime.
 */
export { escapeAndCombineArgs, escapeArg } from "./escape.js";
export { goJson, windowsSpecJson } from "./json.js";
export type { WindowsImageConfig, WindowsSpecOpt } from "./opts.js";
export {
  defaultWindowsSpec,
  generateWindowsSpec,
  ociVersion,
  ociVersion17,
  replaceOrAppendEnv,
  withAllowUnqualifiedDnsQuery,
  withAnnotations,
  withCpuCount,
  withDevice,
  withEnv,
  withHostname,
  withHyperV,
  withIgnoreFlushesDuringBoot,
  withImageConfig,
  withImageConfigArgs,
  withMemoryLimit,
  withNetworkNamespace,
  withProcessArgs,
  withProcessCommandLine,
  withProcessCwd,
  withTty,
  withTtySize,
  withUser,
} from "./opts.js";
export type { WindowsDevice, WindowsNetwork, WindowsProcess, WindowsResources, WindowsSection, WindowsSpec, WindowsUser } from "./types.js";
