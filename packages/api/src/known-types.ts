// @berth/api/known-types: the protobuf half of type URLs (the root entry loads no generated code).
import { createRequire } from "node:module";
import type { Envelope } from "./events.js";
import type { Envelope as WireEnvelope } from "./gen/containerd/services/events/v1/events.js";
import type { Any as WireAny } from "./gen/google/protobuf/any.js";
import type { Timestamp as WireTimestamp } from "./gen/google/protobuf/timestamp.js";
import type { Timestamp } from "./timestamps.js";
import { TypeRegistry } from "./typeurl.js";
import type { Any, MessageType, ProtoModule } from "./typeurl.js";

// The root entry declares these shapes itself, without generated code; this stops compiling if they drift.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
type WireShapesMatch = Holds<
  | Same<Any, WireAny>
  | Same<Timestamp, WireTimestamp>
  | Same<Envelope, WireEnvelope>
  | ((typeof import("./gen/google/protobuf/any.js"))["Any"] extends MessageType<Any> ? true : false)
>;

/**
 * The generated modules of every type containerd carries in an `Any`, loaded on the first call of
 * `knownTypes` (synchronously: Node loads an ES module through `require`) rather than with this
 * module, which short-lived programs (ctr, a shim's `start`) import.
 */
const load = createRequire(import.meta.url) as (path: string) => ProtoModule;
const modules = [
  "./gen/containerd/events/events.js",
  "./gen/containerd/services/namespaces/v1/namespaces.js",
  // Image events live in the images service package: containerd.services.images.v1.ImageCreate etc.
  "./gen/containerd/services/images/v1/images.js",
  "./gen/containerd/types/task/task.js",
  "./gen/containerd/task/v2/shim.js",
  "./gen/containerd/runc/v1/options.js",
  // The runtime v1 options (io.containerd.runtime.v1.linux).
  "./gen/containerd/linux/runc/runc.js",
  "./gen/runtimeoptions/v1/options.js",
  // Windows: runhcs options, its ProcessDetails (in Pids) and Statistics (in Metrics).
  "./gen/containerd/runhcs/v1/options.js",
  "./gen/containerd/runhcs/stats/v1/stats.js",
  "./gen/io/containerd/cgroups/v1/metrics.js",
  "./gen/io/containerd/cgroups/v2/metrics.js",
  // Frames of the transfer service's streams.
  "./gen/containerd/types/transfer/transfer.js",
  "./gen/containerd/services/streaming/v1/streaming.js",
  "./gen/google/protobuf/empty.js",
] as const;

/** A registry holding every type containerd carries in an `Any`: events, runtime options, metrics. */
export function knownTypes(): TypeRegistry {
  const registry = new TypeRegistry();
  for (const path of modules) registry.registerModule(load(path));
  return registry;
}
