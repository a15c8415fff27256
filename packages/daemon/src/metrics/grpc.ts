import type { CallObserver, MethodObserver, ServiceDefinition } from "@berth/api/services";
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

type MethodLabels = {
  grpc_type: GrpcType;
  grpc_service: string;
  grpc_method: string;
};

/** One method's counts since the last scrape: a call adds to plain numbers, a scrape moves them into prom-client. */
class MethodCounts {
  started = 0;
  received = 0;
  sent = 0;
  readonly handled: number[] = codeNames.map(() => 0);

  constructor(readonly labels: MethodLabels) {}
}

/**
 * Server-side gRPC metrics named and labelled as go-grpc-prometheus names them on containerd:
 * started, handled (by code), messages received and sent, and, with `histogram` (containerd's
 * `[metrics] grpc_histogram`), handling seconds. Every method of every served service starts at
 * zero for every code, as go-grpc-prometheus's Register does. prom-client hashes a call's labels on
 * every increment, so calls count into plain numbers that each scrape adds to the counters.
 */
export function grpcMetrics(registry: Registry, services: readonly ServiceDefinition[], histogram: boolean): CallObserver {
  const labelNames = ["grpc_type", "grpc_service", "grpc_method"] as const;
  const registers = [registry];
  const methods = new Map<string, MethodCounts>();
  // A counter of one of MethodCounts' fields; each scrape adds what the calls counted since the last.
  const methodCounter = (field: "started" | "received" | "sent", name: string, help: string): Counter<string> => {
    const counter: Counter<string> = new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        for (const counts of methods.values()) {
          if (counts[field] === 0) continue;
          counter.inc(counts.labels, counts[field]);
          counts[field] = 0;
        }
      },
    });
    return counter;
  };
  const started = methodCounter("started", "grpc_server_started_total", "Total number of RPCs started on the server.");
  const handled: Counter<string> = new Counter({
    name: "grpc_server_handled_total",
    help: "Total number of RPCs completed on the server, regardless of success or failure.",
    labelNames: [...labelNames, "grpc_code"],
    registers,
    collect() {
      for (const counts of methods.values()) {
        counts.handled.forEach((delta, code) => {
          if (delta === 0) return;
          counts.handled[code] = 0;
          handled.inc({ ...counts.labels, grpc_code: codeNames[code]! }, delta);
        });
      }
    },
  });
  const received = methodCounter("received", "grpc_server_msg_received_total", "Total number of RPC stream messages received on the server.");
  const sent = methodCounter("sent", "grpc_server_msg_sent_total", "Total number of gRPC stream messages sent by the server.");
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

  const countsOf = (labels: MethodLabels): MethodCounts => {
    const key = `${labels.grpc_service}/${labels.grpc_method}`;
    let counts = methods.get(key);
    if (counts === undefined) {
      counts = new MethodCounts(labels);
      methods.set(key, counts);
      started.inc(labels, 0);
      received.inc(labels, 0);
      sent.inc(labels, 0);
      for (const code of codeNames) handled.inc({ ...labels, grpc_code: code }, 0);
      seconds?.zero(labels);
    }
    return counts;
  };
  for (const service of services) {
    for (const method of Object.values(service.methods)) {
      countsOf({ grpc_type: grpcType(method), grpc_service: service.fullName, grpc_method: method.name });
    }
  }

  return {
    forMethod(service, method): MethodObserver {
      const counts = countsOf(methods.get(`${service}/${method}`)?.labels ?? { grpc_type: "unary", grpc_service: service, grpc_method: method });
      const { labels, handled: byCode } = counts;
      return {
        started: () => void counts.started++,
        received: () => void counts.received++,
        sent: () => void counts.sent++,
        finished(code, elapsed) {
          if (code >= 0 && code < byCode.length) byCode[code]!++;
          else handled.inc({ ...labels, grpc_code: String(code) });
          seconds?.observe(labels, elapsed);
        },
      };
    },
  };
}

/** One observer that tells each of `observers`. */
export function observeAll(observers: readonly CallObserver[]): CallObserver {
  return {
    forMethod(service, method) {
      const each = observers.map((observer) => observer.forMethod(service, method));
      const hooked = (hook: "started" | "received" | "sent") => each.flatMap((o) => (o[hook] === undefined ? [] : [o[hook].bind(o)]));
      const [started, received, sent] = [hooked("started"), hooked("received"), hooked("sent")];
      return {
        started: () => started.forEach((tell) => tell()),
        received: () => received.forEach((tell) => tell()),
        sent: () => sent.forEach((tell) => tell()),
        finished: (code, elapsed) => each.forEach((o) => o.finished(code, elapsed)),
      };
    },
  };
}
