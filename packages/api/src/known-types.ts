import * as events from "./gen/containerd/events/events.js";
import * as namespacesV1 from "./gen/containerd/services/namespaces/v1/namespaces.js";
import * as imagesV1 from "./gen/containerd/services/images/v1/images.js";
import * as streamingV1 from "./gen/containerd/services/streaming/v1/streaming.js";
import * as taskTypes from "./gen/containerd/types/task/task.js";
import * as transferTypes from "./gen/containerd/types/transfer/transfer.js";
import * as taskV2 from "./gen/containerd/task/v2/shim.js";
import * as runcV1 from "./gen/containerd/runc/v1/options.js";
import * as linuxRunc from "./gen/containerd/linux/runc/runc.js";
import * as runtimeoptionsV1 from "./gen/runtimeoptions/v1/options.js";
import * as runhcsV1 from "./gen/containerd/runhcs/v1/options.js";
import * as runhcsStatsV1 from "./gen/containerd/runhcs/stats/v1/stats.js";
import * as cgroupsV1 from "./gen/io/containerd/cgroups/v1/metrics.js";
import * as cgroupsV2 from "./gen/io/containerd/cgroups/v2/metrics.js";
import * as empty from "./gen/google/protobuf/empty.js";
import { TypeRegistry } from "./typeurl.js";

/** A registry holding every type containerd carries in an `Any`: events, runtime options, metrics. */
export function knownTypes(): TypeRegistry {
  return (
    new TypeRegistry()
      .registerModule(events)
      .registerModule(namespacesV1)
      // Image events live in the images service package: containerd.services.images.v1.ImageCreate etc.
      .registerModule(imagesV1)
      .registerModule(taskTypes)
      .registerModule(taskV2)
      .registerModule(runcV1)
      // The runtime v1 options (io.containerd.runtime.v1.linux).
      .registerModule(linuxRunc)
      .registerModule(runtimeoptionsV1)
      // Windows: runhcs options, its ProcessDetails (in Pids) and Statistics (in Metrics).
      .registerModule(runhcsV1)
      .registerModule(runhcsStatsV1)
      .registerModule(cgroupsV1)
      .registerModule(cgroupsV2)
      // Frames of the transfer service's streams.
      .registerModule(transferTypes)
      .registerModule(streamingV1)
      .registerModule(empty)
  );
}
