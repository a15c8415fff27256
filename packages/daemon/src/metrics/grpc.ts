import type { CallObserver, ServiceDefinition } from "@berth/api/services";
import { Counter, Histogram, type Registry } from "./prom.js";

/** grpc-go's names for status codes, by number: the grpc_code label. */
const codeNames = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
] as const;

type GrpcType = "unary" | "client_stream" | "server_stream" | "bidi_stream";

function grpcType(method: ServiceDefinition["methods"][string]): GrpcType {
  if (method.requestStream) return method.responseStream ? "bidi_stream" : "client_stream";
  return method.responseStream ? "server_stream" : "unary";
}

interface MethodLabels {
  grpc_type: GrpcType;
  grpc_service: string;
  grpc_method: string;
}

/**
 * Server-side gRPC metrics named and labelled as go-grpc-prometheus names them on containerd:
 * started, handled (by code), messages received and sent, and, with `histogram` (containerd's
 * `[metrics] grpc_histogram`), handling seconds. Every method of every served service starts at
 * zero for every code, as go-grpc-prometheus's Register does.
 */
export function grpcMetrics(registry: Registry, services: readonly ServiceDefinition[], histogram: boolean): CallObserver {
  const labelNames = ["grpc_type", "grpc_service", "grpc_method"] as const;
  const registers = [registry];
  const started = new Counter({ name: "grpc_server_started_total", help: "Total number of RPCs started on the server.", labelNames, registers });
  const handled = new Counter({
    name: "grpc_server_handled_total",
    help: "Total number of RPCs completed on the server, regardless of success or failure.",
    labelNames: [...labelNames, "grpc_code"],
    registers,
  });
  const received = new Counter({
    name: "grpc_server_msg_received_total",
    help: "Total number of RPC stream messages received on the server.",
    labelNames,
    registers,
  });
  const sent = new Counter({ name: "grpc_server_msg_sent_total", help: "Total number of gRPC stream messages sent by the server.", labelNames, registers });
  const seconds = histogram
    ? new Histogram({
        name: "grpc_server_handling_seconds",
        help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
        labelNames,
        // Prometheus's default buckets, as go-grpc-prometheus uses.
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      })
    : undefined;

  // Label objects are built once per method, so that a call costs a map lookup and the increments.
  const methods = new Map<string, MethodLabels>();
  for (const service of services) {
    for (const method of Object.values(service.methods)) {
      const labels: MethodLabels = { grpc_type: grpcType(method), grpc_service: service.fullName, grpc_method: method.name };
      methods.set(`${service.fullName}/${method.name}`, labels);
      started.inc(labels, 0);
      received.inc(labels, 0);
      sent.inc(labels, 0);
      for (const code of codeNames) handled.inc({ ...labels, grpc_code: code }, 0);
      seconds?.zero(labels);
    }
  }
  const labelsOf = (service: string, method: string): MethodLabels =>
    methods.get(`${service}/${method}`) ?? { grpc_type: "unary", grpc_service: service, grpc_method: method };

  return {
    started: (service, method) => started.inc(labelsOf(service, method)),
    received: (service, method) => received.inc(labelsOf(service, method)),
    sent: (service, method) => sent.inc(labelsOf(service, method)),
    finished(service, method, code, elapsed) {
      const labels = labelsOf(service, method);
      handled.inc({ ...labels, grpc_code: codeNames[code] ?? String(code) });
      seconds?.observe(labels, elapsed);
    },
  };
}

/** One observer that tells each of `observers`. */
export function observeAll(observers: readonly CallObserver[]): CallObserver {
  return {
    started: (service, method) => observers.forEach((o) => o.started?.(service, method)),
    received: (service, method) => observers.forEach((o) => o.received?.(service, method)),
    sent: (service, method) => observers.forEach((o) => o.sent?.(service, method)),
    finished: (service, method, code, elapsed) => observers.forEach((o) => o.finished(service, method, code, elapsed)),
  };
}
