import { hostname } from "node:os";
import { resolve } from "node:path";
import type { Any, Container } from "@berth/api";
import type { Client, ImageRunConfig, OciMount, SpecOpt, WindowsSpecOpt } from "@berth/client";
import { parsePlatform } from "@berth/oci";
import { parseLabels } from "@berth/cli-kit";
import type { ContainerFlagValues } from "./flags.js";

export type { ContainerFlagValues } from "./flags.js";
export { containerFlags, runOnlyFlags } from "./flags.js";

/** ctr's parseMountFlag: `type=bind,src=/tmp,dst=/host,options=rbind:ro`. */
export function parseMountFlag(text: string): OciMount {
  const mount: OciMount = { destination: "" };
  for (const field of text.split(",")) {
    const equals = field.indexOf("=");
    if (equals === -1) throw new Error("invalid mount specification: expected key=val");
    const [key, value] = [field.slice(0, equals), field.slice(equals + 1)];
    if (key === "type") mount.type = value;
    else if (key === "source" || key === "src") mount.source = value;
    else if (key === "destination" || key === "dst") mount.destination = value;
    else if (key === "options") mount.options = value.split(":");
    else throw new Error(`mount option ${JSON.stringify(key)} not supported`);
  }
  return mount;
}

/** ctr's AnnotationArgs: `key=value` each, or an error naming the one that is not. */
function parseAnnotations(pairs: readonly string[]): Record<string, string> {
  for (const pair of pairs) if (!pair.includes("=")) throw new Error(`invalid key=value format annotation: ${pair}`);
  return parseLabels(pairs);
}

const namespaceTypes = new Set(["pid", "network", "uts", "mount", "user", "ipc", "cgroup"]);

/** `--with-ns nstype:path`, checked as ctr 1.6 checks it. */
function parseJoinedNamespace(text: string): { type: string; path: string } {
  const parts = text.split(":");
  if (parts.length !== 2) throw new Error("joining a Linux namespace using --with-ns requires the format 'nstype:path'");
  if (!namespaceTypes.has(parts[0]!)) throw new Error(`the Linux namespace type specified in --with-ns is not valid: ${parts[0]}`);
  return { type: parts[0]!, path: parts[1]! };
}

/** `nvidia-container-cli` on $PATH, as exec.LookPath finds it. */
async function findOnPath(name: string): Promise<string | undefined> {
  const { access, constants } = await import("node:fs/promises");
  for (const directory of (process.env.PATH ?? "").split(":")) {
    const candidate = resolve(directory || ".", name);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

/** The spec options ctr 1.6's NewContainer adds after the image's config, in its order. */
async function linuxSpecOpts(flags: ContainerFlagValues, args: readonly string[]): Promise<SpecOpt[]> {
  const berth = await import("@berth/client");
  const spec: SpecOpt[] = [];
  if (flags["read-only"]) spec.push(berth.withRootfsReadonly);
  if (args.length > 0) spec.push(berth.withProcessArgs(...args));
  if (flags.cwd) spec.push(berth.withProcessCwd(flags.cwd));
  if (flags.tty) spec.push(berth.withTty);
  if (flags.privileged) spec.push(...berth.withPrivilegedHost);
  if (flags["net-host"])
    spec.push(berth.withHostNamespace("network"), berth.withHostHostsFile, berth.withHostResolvconf, berth.withEnv([`HOSTNAME=${hostname()}`]));
  if (flags.annotation?.length) spec.push(berth.withAnnotations(parseAnnotations(flags.annotation)));
  if (flags["cap-add"]?.length) spec.push(berth.withAddedCapabilities(flags["cap-add"]));
  if (flags["cap-drop"]?.length) spec.push(berth.withDroppedCapabilities(flags["cap-drop"]));
  if (!flags.seccomp && flags["seccomp-profile"]) throw new Error("seccomp must be set to true, if using a custom seccomp-profile");
  if (flags.seccomp) spec.push(flags["seccomp-profile"] ? berth.withSeccompProfile(flags["seccomp-profile"]) : berth.withDefaultSeccomp);
  if (flags["apparmor-default-profile"]) spec.push(berth.withApparmorDefaultProfile(flags["apparmor-default-profile"]));
  if (flags["apparmor-profile"]) {
    if (flags["apparmor-default-profile"]) throw new Error("apparmor-profile conflicts with apparmor-default-profile");
    spec.push(berth.withApparmorProfile(flags["apparmor-profile"]));
  }
  const cpus = Number.parseFloat(flags.cpus ?? "0");
  if (Number.isNaN(cpus)) throw new Error(`invalid value ${JSON.stringify(flags.cpus)} for flag -cpus: parse error`);
  if (cpus > 0) spec.push(berth.withCpuCfs(Math.trunc(cpus * 100_000), 100_000));
  if ((flags["cpu-shares"] ?? 0) > 0) spec.push(berth.withCpuShares(flags["cpu-shares"]!));
  if (flags["cpu-quota"] !== -1 || flags["cpu-period"] !== 0) {
    if (cpus > 0) throw new Error("cpus and quota/period should be used separately");
    spec.push(berth.withCpuCfs(flags["cpu-quota"], flags["cpu-period"]));
  }
  for (const joined of flags["with-ns"] ?? []) spec.push(berth.withLinuxNamespace(parseJoinedNamespace(joined)));
  if (flags.gpus !== undefined) {
    // containerd's nvidia.WithGPUs runs NVIDIA's hook; without it ctr fails as here.
    if ((await findOnPath("nvidia-container-cli")) === undefined) throw new Error('exec: "nvidia-container-cli": executable file not found in $PATH');
    throw new Error("--gpus: Berth's ctr does not add NVIDIA's OCI hook (containerd's `ctr oci-hook`) yet");
  }
  if (flags["allow-new-privs"]) spec.push(berth.withNewPrivileges);
  if (flags.cgroup !== undefined) spec.push(berth.withCgroup(flags.cgroup));
  if (flags["memory-limit"] !== 0) spec.push(berth.withMemoryLimit(flags["memory-limit"]));
  for (const device of flags.device ?? []) spec.push(berth.withDevices(device, "rwm"));
  if (flags["rootfs-propagation"]) spec.push(berth.withRootfsPropagation(flags["rootfs-propagation"]));
  if (flags["rdt-class"]) spec.push(berth.withRdtClass(flags["rdt-class"]));
  return spec;
}

/** The runtime's options: runc's for io.containerd.runc.v2, else `--runtime-config-path` (ctr's getRuntimeOptions). */
async function runtimeOptions(flags: ContainerFlagValues): Promise<Any | undefined> {
  const { defaultRuntime } = await import("@berth/client");
  const { runcV1, runtimeoptionsV1 } = await import("@berth/api/proto");
  if ((flags["runc-binary"] || flags["runc-systemd-cgroup"]) && flags.runtime !== defaultRuntime) {
    throw new Error(`specifying runc-binary and runc-systemd-cgroup is only supported for "${defaultRuntime}" runtime`);
  }
  if (flags.runtime === defaultRuntime) {
    const options = runcV1.Options.fromPartial({
      binaryName: flags["runc-binary"] ?? "",
      root: flags["runc-root"] ?? "",
      systemdCgroup: flags["runc-systemd-cgroup"],
    });
    return { typeUrl: "containerd.runc.v1.Options", value: Buffer.from(runcV1.Options.encode(options).finish()) };
  }
  if (!flags["runtime-config-path"]) return undefined;
  const options = runtimeoptionsV1.Options.fromPartial({ configPath: flags["runtime-config-path"] });
  return { typeUrl: "runtimeoptions.v1.Options", value: Buffer.from(runtimeoptionsV1.Options.encode(options).finish()) };
}

/**
 * ctr 1.6's NewContainer: the container `id` from the image `ref` (or, with `--rootfs`, the
 * directory `ref`; with `--config`, the spec in that file) under ctr's flags, in ctr's order.
 */
export async function createFromFlags(client: Client, flags: ContainerFlagValues, ref: string, id: string, args: readonly string[]): Promise<Container> {
  const berth = await import("@berth/client");
  const context = client.context();
  const labels = parseLabels(flags.label ?? []);
  const spec: SpecOpt[] = [];
  let image: Awaited<ReturnType<typeof berth.readImageConfig>> | undefined;
  let snapshotLabels = parseLabels(flags["snapshotter-label"] ?? []);
  let remap: { uid: number; gid: number } | undefined;
  if (flags.config) {
    spec.push(berth.withSpecFromFile(flags.config));
  } else {
    if (flags["env-file"]) spec.push(berth.withEnvFile(flags["env-file"]));
    spec.push(berth.withEnv(flags.env ?? []), berth.withMountsAdded((flags.mount ?? []).map(parseMountFlag)));
    if (flags.rootfs) {
      spec.push(berth.withRootfsPath(resolve(ref)));
    } else {
      const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
      image = await berth.readImageConfig(client, context, await client.images.get(context, ref), platform);
      if (berth.isWindowsImage(image)) return createWindowsFromFlags(client, flags, image, id, args, labels);
      spec.push(berth.withImageConfig(image.process));
      if (flags.uidmap && flags.gidmap) {
        const [uidMapping, gidMapping] = [berth.parseIdMapping(flags.uidmap), berth.parseIdMapping(flags.gidmap)];
        spec.push(berth.withUserNamespace([uidMapping], [gidMapping]));
        // The snapshotter remaps from labels (e.g. fuse-overlayfs), or ctr shifts the image's owners itself.
        if (flags["remap-labels"]) {
          snapshotLabels = {
            "containerd.io/snapshot/uidmapping": `0:${uidMapping.hostID}:${uidMapping.size}`,
            "containerd.io/snapshot/gidmapping": `0:${gidMapping.hostID}:${uidMapping.size}`,
          };
        } else {
          remap = { uid: uidMapping.hostID, gid: gidMapping.hostID };
          snapshotLabels = {};
        }
      }
    }
    spec.push(...(await linuxSpecOpts(flags, args)));
  }
  spec.push(berth.withAnnotations(labels));
  return berth.createContainer(client, context, {
    id,
    image,
    snapshotter: flags.snapshotter,
    snapshotLabels,
    remap,
    runtime: flags.runtime,
    runtimeOptions: await runtimeOptions(flags),
    labels,
    spec,
  });
}

/** ctr 1.6's NewContainer on Windows (run_windows.go): the Windows spec, runhcs and the windows snapshotter by default. */
async function createWindowsFromFlags(
  client: Client,
  flags: ContainerFlagValues,
  image: ImageRunConfig,
  id: string,
  args: readonly string[],
  labels: Record<string, string>,
): Promise<Container> {
  const berth = await import("@berth/client");
  const windows = berth.windowsSpecOpts;
  if (flags["net-host"]) throw new Error("Cannot use host mode networking with Windows containers");
  const spec: WindowsSpecOpt[] = [windows.withEnv(flags.env ?? []), windows.withImageConfigArgs(image.process, args)];
  if (flags.cwd) spec.push(windows.withProcessCwd(flags.cwd));
  if (flags.tty) spec.push(windows.withTty);
  if (flags.isolated) spec.push(windows.withHyperV);
  if (flags["memory-limit"]) spec.push(windows.withMemoryLimit(flags["memory-limit"]));
  if (flags["cpu-count"]) spec.push(windows.withCpuCount(flags["cpu-count"]));
  spec.push(windows.withAnnotations(labels));
  const runtime = flags.runtime === berth.defaultRuntime ? berth.defaultWindowsRuntime : flags.runtime;
  return berth.createContainer(client, client.context(), { id, image, snapshotter: flags.snapshotter, runtime, labels, spec: [], windowsSpec: spec });
}
