import * as Flags from "@oclif/core/flags";
import type * as Interfaces from "@oclif/core/interfaces";

const many = { multiple: true, multipleNonGreedy: true } as const;

/** The flags `containers create` and `run` share, as ctr 1.6's ContainerFlags and SnapshotterFlags. */
export const containerFlags = {
  snapshotter: Flags.string({ description: "snapshotter name. Empty value stands for the default value.", env: "CONTAINERD_SNAPSHOTTER" }),
  "snapshotter-label": Flags.string({ ...many, description: "labels added to the new snapshot for this container." }),
  config: Flags.string({ char: "c", description: "path to the runtime-specific spec config file" }),
  cwd: Flags.string({ description: "specify the working directory of the process" }),
  env: Flags.string({ ...many, description: "specify additional container environment variables (e.g. FOO=bar)" }),
  "env-file": Flags.string({ description: "specify additional container environment variables in a file(e.g. FOO=bar, one per line)" }),
  label: Flags.string({ ...many, description: "specify additional labels (e.g. foo=bar)" }),
  annotation: Flags.string({ ...many, description: "specify additional OCI annotations (e.g. foo=bar)" }),
  mount: Flags.string({ ...many, description: "specify additional container mount (e.g. type=bind,src=/tmp,dst=/host,options=rbind:ro)" }),
  "net-host": Flags.boolean({ description: "enable host networking for the container" }),
  privileged: Flags.boolean({ description: "run privileged container" }),
  "read-only": Flags.boolean({ description: "set the containers filesystem as readonly" }),
  runtime: Flags.string({ description: "runtime name", default: "io.containerd.runc.v2" }),
  "runtime-config-path": Flags.string({ description: "optional runtime config path" }),
  tty: Flags.boolean({ char: "t", description: "allocate a TTY for the container" }),
  "with-ns": Flags.string({ ...many, description: "specify existing Linux namespaces to join at container runtime (format '<nstype>:<path>')" }),
  "pid-file": Flags.string({ description: "file path to write the task's pid" }),
  gpus: Flags.integer({ ...many, description: "add gpus to the container" }),
  "allow-new-privs": Flags.boolean({ description: "turn off OCI spec's NoNewPrivileges feature flag" }),
  "memory-limit": Flags.integer({ min: 0, default: 0, description: "memory limit (in bytes) for the container" }),
  device: Flags.string({
    ...many,
    description: "file path to a device to add to the container; or a path to a directory tree of devices to add to the container",
  }),
  "cap-add": Flags.string({ ...many, description: "add Linux capabilities (Set capabilities with 'CAP_' prefix)" }),
  "cap-drop": Flags.string({ ...many, description: "drop Linux capabilities (Set capabilities with 'CAP_' prefix)" }),
  seccomp: Flags.boolean({ description: "enable the default seccomp profile" }),
  "seccomp-profile": Flags.string({ description: "file path to custom seccomp profile. seccomp must be set to true, before using seccomp-profile" }),
  "apparmor-default-profile": Flags.string({
    description: 'enable AppArmor with the default profile with the specified name, e.g. "cri-containerd.apparmor.d"',
  }),
  "apparmor-profile": Flags.string({ description: "enable AppArmor with an existing custom profile" }),
  "rdt-class": Flags.string({
    description: "name of the RDT class to associate the container with. Specifies a Class of Service (CLOS) for cache and memory bandwidth management.",
  }),
  rootfs: Flags.boolean({ description: "use custom rootfs that is not managed by containerd snapshotter" }),
  "no-pivot": Flags.boolean({ description: "disable use of pivot-root (linux only)" }),
  "cpu-quota": Flags.integer({ default: -1, description: "Limit CPU CFS quota" }),
  "cpu-period": Flags.integer({ min: 0, default: 0, description: "Limit CPU CFS period" }),
  "rootfs-propagation": Flags.string({ description: "set the propagation of the container rootfs" }),
  // Stock ctr's Windows build has these; for a Windows image they become the Windows spec's resources.
  isolated: Flags.boolean({ description: "run the container with vm isolation" }),
  "cpu-count": Flags.integer({ min: 0, default: 0, description: "number of CPUs available to the container" }),
  // Not among stock `containers create`'s flags, but harmless there: the runc options of the container.
  "runc-binary": Flags.string({ description: "specify runc-compatible binary" }),
  "runc-root": Flags.string({ description: "specify runc-compatible root" }),
  "runc-systemd-cgroup": Flags.boolean({ description: "start runc with systemd cgroup manager" }),
};

/** The flags only `run` has (ctr 1.6's run flags and its Linux platformRunFlags). */
export const runOnlyFlags = {
  "log-uri": Flags.string({ description: "log uri" }),
  cgroup: Flags.string({ description: 'cgroup path (To disable use of cgroup, set to "" explicitly)' }),
  platform: Flags.string({ description: "run image for specific platform" }),
  cni: Flags.boolean({ description: "enable cni networking for the container" }),
  uidmap: Flags.string({
    description: "run inside a user namespace with the specified UID mapping range; specified with the format container-uid:host-uid:length",
  }),
  gidmap: Flags.string({
    description: "run inside a user namespace with the specified GID mapping range; specified with the format container-gid:host-gid:length",
  }),
  "remap-labels": Flags.boolean({ description: "provide the user namespace ID remapping to the snapshotter via label options; requires snapshotter support" }),
  cpus: Flags.string({ description: "set the CFS cpu quota", default: "0" }),
  "cpu-shares": Flags.integer({ description: "set the cpu shares", default: 1024 }),
};

/** The parsed values of `containerFlags`, and of `runOnlyFlags` when the command is `run`. */
export type ContainerFlagValues = Interfaces.InferredFlags<typeof containerFlags> & Partial<Interfaces.InferredFlags<typeof runOnlyFlags>>;
