import { createRequire } from "node:module";
import { TypeRegistry } from "./typeurl.js";
import type { ProtoModule } from "./typeurl.js";

/**
 * The generated modules of every type containerd carries in an `Any`, loaded on the first call of
 * `knownTypes` (synchronously: Node loads an ES module through `require`) rather than with this
 * package's entry, which every short-lived program (ctr, a shim's `start`) imports.
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
