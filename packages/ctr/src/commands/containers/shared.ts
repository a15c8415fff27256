import { hostname } from "node:os";
import { Flags } from "@oclif/core";
import type { Container } from "@berth/api";
import type { Client, ImageRunConfig, OciMount, SpecOpt, WindowsSpecOpt } from "@berth/client";
import { parseLabels } from "../../words.js";

/** The flags `containers create` and `run` share, as ctr's ContainerFlags and SnapshotterFlags. */
export const containerFlags = {
  snapshotter: Flags.string({ description: "snapshotter name. Empty value stands for the default value.", env: "CONTAINERD_SNAPSHOTTER" }),
  cwd: Flags.string({ description: "specify the working directory of the process" }),
  env: Flags.string({ multiple: true, multipleNonGreedy: true, description: "specify additional container environment variables (e.g. FOO=bar)" }),
  label: Flags.string({ multiple: true, multipleNonGreedy: true, description: "specify additional labels (e.g. foo=bar)" }),
  mount: Flags.string({ multiple: true, multipleNonGreedy: true, description: "specify additional container mount (e.g. type=bind,src=/tmp,dst=/host,options=rbind:ro)" }),
  "net-host": Flags.boolean({ description: "enable host networking for the container" }),
  "read-only": Flags.boolean({ description: "set the containers filesystem as readonly" }),
  runtime: Flags.string({ description: "runtime name", default: "io.containerd.runc.v2" }),
  tty: Flags.boolean({ char: "t", description: "allocate a TTY for the container" }),
  "runc-binary": Flags.string({ description: "specify runc-compatible binary" }),
  "runc-root": Flags.string({ description: "specify runc-compatible root" }),
  "runc-systemd-cgroup": Flags.boolean({ description: "start runc with systemd cgroup manager" }),
  platform: Flags.string({ description: "run the image for this platform (e.g. windows/amd64); default: this host's" }),
  isolated: Flags.boolean({ description: "run the container with Hyper-V isolation (Windows images)" }),
  "memory-limit": Flags.integer({ description: "memory limit in bytes (Windows images)", default: 0 }),
  "cpu-count": Flags.integer({ description: "number of CPUs (Windows images)", default: 0 }),
};

export interface ContainerFlagValues {
  snapshotter?: string | undefined;
  cwd?: string | undefined;
  env?: string[] | undefined;
  label?: string[] | undefined;
  mount?: string[] | undefined;
  "net-host": boolean;
  "read-only": boolean;
  runtime: string;
  tty: boolean;
  "runc-binary"?: string | undefined;
  "runc-root"?: string | undefined;
  "runc-systemd-cgroup": boolean;
  platform?: string | undefined;
  isolated?: boolean | undefined;
  "memory-limit"?: number | undefined;
  "cpu-count"?: number | undefined;
}

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

/** ctr 1.6's NewContainer: the image's config under ctr's flags, in ctr's order; the container is created. */
export async function createFromFlags(client: Client, flags: ContainerFlagValues, ref: string, id: string, args: readonly string[]): Promise<Container> {
  const berth = await import("@berth/client");
  const { runcV1 } = await import("@berth/api/proto");
  if ((flags["runc-binary"] || flags["runc-systemd-cgroup"]) && flags.runtime !== berth.defaultRuntime) {
    throw new Error(`specifying runc-binary and runc-systemd-cgroup is only supported for "${berth.defaultRuntime}" runtime`);
  }
  const context = client.context();
  const image = await berth.readImageConfig(client, context, await client.images.get(context, ref), flags.platform ? berth.parsePlatform(flags.platform) : undefined);
  const labels = parseLabels(flags.label ?? []);
  if (berth.isWindowsImage(image)) return createWindowsFromFlags(client, flags, image, id, args, labels);
  const spec: SpecOpt[] = [berth.withEnv(flags.env ?? []), berth.withMountsAdded((flags.mount ?? []).map(parseMountFlag)), berth.withImageConfig(image.process)];
  if (flags["read-only"]) spec.push(berth.withRootfsReadonly);
  if (args.length > 0) spec.push(berth.withProcessArgs(...args));
  if (flags.cwd) spec.push(berth.withProcessCwd(flags.cwd));
  if (flags.tty) spec.push(berth.withTty);
  if (flags["net-host"]) spec.push(berth.withHostNamespace("network"), berth.withHostHostsFile, berth.withHostResolvconf, berth.withEnv([`HOSTNAME=${hostname()}`]));
  spec.push(berth.withAnnotations(labels));
  const runcOptions = runcV1.Options.fromPartial({ binaryName: flags["runc-binary"] ?? "", root: flags["runc-root"] ?? "", systemdCgroup: flags["runc-systemd-cgroup"] });
  const runtimeOptions = flags.runtime === berth.defaultRuntime ? { typeUrl: "containerd.runc.v1.Options", value: Buffer.from(runcV1.Options.encode(runcOptions).finish()) } : undefined;
  return berth.createContainer(client, context, { id, image, snapshotter: flags.snapshotter, runtime: flags.runtime, runtimeOptions, labels, spec });
}

/** ctr 1.6's NewContainer on Windows (run_windows.go): the Windows spec, runhcs and the windows snapshotter by default. */
async function createWindowsFromFlags(client: Client, flags: ContainerFlagValues, image: ImageRunConfig, id: string, args: readonly string[], labels: Record<string, string>): Promise<Container> {
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
