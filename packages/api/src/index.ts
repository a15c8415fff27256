export type { ErrorKind } from "./errors.js";
export {
  BerthError,
  alreadyExists,
  errorOfKind,
  failedPrecondition,
  grpcCodeOfKind,
  invalidArgument,
  isKind,
  kindOf,
  kindOfFailure,
  kindOfGrpcCode,
  notFound,
  notImplemented,
  outOfRange,
  unavailable,
} from "./errors.js";
export { isValidIdentifier, validateIdentifier } from "./identifiers.js";
export { validateLabels } from "./labels.js";
export { defaultNamespace, leaseHeader, namespaceHeader, namespaceTtrpcHeader } from "./metadata.js";
export type { Timestamp } from "./timestamps.js";
export { dateFromTimestamp, goZeroTime, isZeroTime, nowTimestamp, timestampFromDate } from "./timestamps.js";
export type { Any, MessageType, ProtoModule } from "./typeurl.js";
export { TypeRegistry, bareTypeUrl, jsonTypeUrls, packJson, unpackJson } from "./typeurl.js";
export type { CallContext } from "./context.js";
export { requireNamespace } from "./context.js";
export type { Envelope, EventStream, Forwarder, Publisher, Subscriber } from "./events.js";
export { validateTopic } from "./events.js";
export type { Namespace, NamespaceStore } from "./namespaces.js";
export type { ContentInfo, ContentStore, ContentWriter, IngestStatus, WriterOptions } from "./content.js";
export { validateDigest } from "./content.js";
export type { Lease, LeaseManager, LeaseResource } from "./leases.js";
export type { Image, ImageStore, ImageTarget, NewImage } from "./images.js";
export { checkpointAnnotations, checkpointLabel, checkpointMediaTypes } from "./checkpoint.js";
export type {
  ConsoleSize,
  CreateTaskOptions,
  ExecOptions,
  ExecProcess,
  Exit,
  ProcessInfo,
  ProcessState,
  Runtime,
  RuntimeProcess,
  RuntimeTask,
  TaskIO,
  TaskStatus,
} from "./runtime.js";
export type { Container, ContainerRuntime, ContainerStore, NewContainer } from "./containers.js";
export type { Mount, SnapshotInfo, SnapshotKind, SnapshotUsage, Snapshotter } from "./snapshots.js";
export { pristineMarksCapability } from "./snapshots.js";
export type { RunningTask, RunningTasks } from "./monitor.js";
export type { Stream, StreamGetter, TransferRequest, Transferrer } from "./transfer.js";
export { isRunningTasks } from "./monitor.js";
