import { once } from "node:events";
import { notFound } from "@berth/api";
import { healthV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";

const { SERVING, SERVICE_UNKNOWN } = healthV1.HealthCheckResponse_ServingStatus;

/**
 * gRPC's health service as containerd serves it (grpc-go's health server, left as created): the
 * server as a whole, service "", is SERVING for as long as it runs; no other name is known. Check
 * of another name fails NotFound; Watch of it reports SERVICE_UNKNOWN and, as grpc-go's, stays
 * open (a service may be registered later, here never). Docker polls Check after losing its event
 * stream, and resubscribes only once it answers SERVING.
 */
export function healthHandlers(): ServiceHandlers<typeof healthV1.HealthDefinition> {
  const statusOf = (service: string) => (service === "" ? SERVING : undefined);
  return {
    check: async ({ service }) => {
      const status = statusOf(service);
      if (status === undefined) throw notFound("unknown service");
      return { status };
    },
    watch: async function* ({ service }, context) {
      yield { status: statusOf(service) ?? SERVICE_UNKNOWN };
      // The status never changes while the daemon runs: hold the stream until the client leaves.
      const signal = context.signal;
      if (signal !== undefined && !signal.aborted) await once(signal, "abort");
    },
  };
}
