import type { CallContext } from "./context.js";
import type { Timestamp } from "./timestamps.js";
import type { Any } from "./typeurl.js";

export interface ContainerRuntime {
  /** e.g. `io.containerd.runc.v2`. */
  readonly name: string;
  /** Runtime options, e.g. `containerd.runc.v1.Options`; undefined when none were given. */
  readonly options?: Any | undefined;
}

export interface Container {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly image: string;
  readonly runtime: ContainerRuntime;
  /** The OCI runtime spec: JSON under `types.containerd.io/opencontainers/runtime-spec/1/Spec`. */
  readonly spec?: Any | undefined;
  readonly snapshotter: string;
  readonly snapshotKey: string;
  readonly extensions: Readonly<Record<string, Any>>;
  /** containerd 1.7's sandbox id; empty when the container belongs to none. */
  readonly sandbox: string;
  readonly createdAt: Timestamp;
  readonly updatedAt: Timestamp;
}

export type NewContainer = Omit<Container, "createdAt" | "updatedAt">;

/**
 * Container records, per namespace: metadata only, no process. Publishes
 * `/containers/create|update|delete`. A container is a garbage-collection root: it keeps its
 * snapshot (`snapshotter` + `snapshotKey`) and whatever its `containerd.io/gc.ref.*` labels name;
 * deleting it releases them.
 *
 * - `create`: InvalidArgument (message naming the field) for an invalid id (identifier rules), an
 *   empty `runtime.name`, a missing `spec`, a `snapshotKey` without `snapshotter`, an empty
 *   extension key or bad labels; AlreadyExists for a taken id. The store sets both timestamps.
 * - `update`: fieldpaths as containerd's: `labels`, `labels.<key>`, `spec`, `extensions`,
 *   `extensions.<key>`, `image`, `snapshotkey`; anything else InvalidArgument. No paths means all
 *   of them, and then `runtime.name` and `snapshotter` must equal the stored ones (immutable).
 *   The result is validated as on create; NotFound when absent. A label set to "" is removed.
 * - `get`, `delete`: NotFound when absent.
 * - `list` takes containerd filters over `id`, `image`, `runtime.name`, `labels.<key>`.
 */
export interface ContainerStore {
  get(context: CallContext, id: string): Promise<Container>;
  list(context: CallContext, filters: readonly string[]): Promise<Container[]>;
  create(context: CallContext, container: NewContainer): Promise<Container>;
  update(context: CallContext, container: NewContainer, fieldpaths: readonly string[]): Promise<Container>;
  delete(context: CallContext, id: string): Promise<void>;
}
