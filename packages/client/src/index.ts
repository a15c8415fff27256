export type { ClientOptions, PluginInfo, ServerInfo, ServiceResolver, VersionInfo } from "./client.js";
export { Client } from "./client.js";
export { defaultAddress, resolveAddress, resolveNamespace } from "./address.js";
export { ContainersProxy } from "./containers.js";
export { ContentProxy } from "./content.js";
export type { LayerDescriptor } from "./diff.js";
export { DiffProxy } from "./diff.js";
export { EventsProxy } from "./events.js";
export { ImagesProxy } from "./images.js";
export { LeasesProxy } from "./leases.js";
export { NamespacesProxy } from "./namespaces.js";
export { SnapshotsProxy } from "./snapshots.js";
export type { ImageCheck, ImageSummary } from "./image-summary.js";
export { checkImage, describeImage, describeImages } from "./image-summary.js";
export type { PullOptions } from "./pull.js";
export { pull, recordImage } from "./pull.js";
export type { TransferPullOptions } from "./transfer.js";
export { transferPull } from "./transfer.js";
export type { ImageRootfs } from "./unpack.js";
export { imageRootfs, unpack, unpackImage } from "./unpack.js";
export type { PushOptions, PushReport } from "./push.js";
export { push } from "./push.js";
export type { DescriptorProgress, ProgressListener, ProgressSnapshot, TransferStatus } from "./progress.js";
export { ProgressBoard } from "./progress.js";
export type { ExportOptions } from "./archive-export.js";
export { exportImages, imageNameAnnotation, ociRefNameAnnotation } from "./archive-export.js";
export type { ImportOptions } from "./archive-import.js";
export { importImages } from "./archive-import.js";
export { withLease } from "./lease.js";
export type { ConvertOptions } from "./convert.js";
export { convertImage, tagImage } from "./convert.js";
export type { InstallOptions } from "./install.js";
export { installImage } from "./install.js";
export { refKey } from "./image-formats.js";
/** The image model, kept here for users of this package's earlier API; it lives in @berth/oci. */
export type { Descriptor, Platform } from "@berth/oci";
export { chainIds, hostPlatform, normalizePlatform, parsePlatform, platformText } from "@berth/oci";
export type { DeletedProcess, ExitStatus, NewTask, ProcessIO, ProcessStatus, TaskMetric, TaskStatus } from "./tasks.js";
export { TasksProxy } from "./tasks.js";
export type { CheckpointTaskOptions, ContainerCheckpointOptions } from "./checkpoint.js";
export { checkpointContainer, checkpointTask, restoreContainer, taskCheckpointOf } from "./checkpoint.js";
export type { FifoSet, OutputStreams } from "./cio.js";
export { AttachedIO, defaultFifoRoot, newFifoSet, removeFifos } from "./cio.js";
export type { ImageRunConfig } from "./image-config.js";
export { ensureUnpacked, isUnpacked, readImageConfig } from "./image-config.js";
export type { NewContainerOptions } from "./new-container.js";
export type { WindowsSpecOpt } from "./oci/windows.js";
export { windowsSpecOpts } from "./oci/windows.js";
export {
  createContainer,
  createTask,
  defaultRuntime,
  defaultSnapshotter,
  defaultWindowsRuntime,
  defaultWindowsSnapshotter,
  isWindowsImage,
  stopSignalLabel,
} from "./new-container.js";
export type { OciCapabilities, OciDevice, OciIdMapping, OciLinux, OciMount, OciNamespace, OciProcess, OciResources, OciSpec, OciUser } from "./oci/spec.js";
export { currentCapabilities, withAddedCapabilities, withAllCurrentCapabilities, withCapabilities, withDroppedCapabilities } from "./oci/capabilities.js";
export { devicesAt, withAllDevicesAllowed, withDevices, withHostDevices } from "./oci/devices.js";
export type { OciSeccomp, OciSeccompArg, OciSyscall } from "./oci/seccomp.js";
export { defaultSeccompProfile, withDefaultSeccomp, withSeccompProfile } from "./oci/seccomp.js";
export {
  parseIdMapping,
  withApparmorDefaultProfile,
  withApparmorProfile,
  withCgroup,
  withCpuCfs,
  withCpuShares,
  withMemoryLimit,
  withNewPrivileges,
  withPrivileged,
  withPrivilegedHost,
  withRdtClass,
  withRootfsPath,
  withRootfsPropagation,
  withSpecFromFile,
  withUserNamespace,
} from "./oci/linux-opts.js";
export { defaultSpec, ociVersion, processAny, specAny, specInGoOrder } from "./oci/spec.js";
export type { ImageProcessConfig, SpecOpt, SpecTarget } from "./oci/opts.js";
export {
  generateSpec,
  readonlyMounts,
  replaceOrAppendEnv,
  withAnnotations,
  withEnv,
  withEnvFile,
  withHostHostsFile,
  withHostNamespace,
  withHostResolvconf,
  withImageConfig,
  withLinuxNamespace,
  withMountsAdded,
  withProcessArgs,
  withProcessCwd,
  withRootfsReadonly,
  withTty,
  withUser,
} from "./oci/opts.js";
