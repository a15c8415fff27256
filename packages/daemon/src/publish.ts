import { parseArgs } from "node:util";
import { google_protobuf_any, eventsV1 } from "@berth/api/proto";
import { createServiceClient, grpc } from "@berth/api/services";

/**
 * `berthd [--address <socket>] publish --topic <topic> --namespace <ns>`: containerd's `publish`
 * command, the runtime v1 shim's (`containerd-shim`) way to report events. It reads one protobuf
 * `google.protobuf.Any` from stdin and sends it with Events.Publish over the daemon's gRPC socket,
 * which stamps the time, as `containerd publish` does.
 */
export interface PublishRequest {
  readonly address: string;
  readonly topic: string;
  readonly namespace: string;
}

const defaultAddress = "/run/berth/berthd.sock";

/** The publish request when the command line is `… publish …`, else undefined (the daemon's own command line). */
export function publishRequestOf(argv: readonly string[]): PublishRequest | undefined {
  const { values, positionals } = parseArgs({
    args: [...argv],
    strict: false,
    allowPositionals: true,
    options: {
      address: { type: "string", short: "a" },
      config: { type: "string", short: "c" },
      root: { type: "string" },
      state: { type: "string" },
      "log-level": { type: "string", short: "l" },
      topic: { type: "string" },
      namespace: { type: "string" },
    },
  });
  if (positionals[0] !== "publish") return undefined;
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  return { address: text(values.address) || defaultAddress, topic: text(values.topic), namespace: text(values.namespace) };
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function publish(request: PublishRequest, payload: Uint8Array, timeoutMs = 10_000): Promise<void> {
  if (request.topic === "") throw new Error("topic required to publish event");
  const event = google_protobuf_any.Any.decode(payload);
  const address = request.address.replace(/^unix:\/\//, "");
  const channel = new grpc.Client(`unix:${address}`, grpc.credentials.createInsecure(), { "grpc.default_authority": "localhost" });
  try {
    const events = createServiceClient(eventsV1.EventsDefinition, channel, { namespace: request.namespace });
    await events.publish({ topic: request.topic, event }, { deadline: Date.now() + timeoutMs });
  } finally {
    channel.close();
  }
}

/** Runs the command: exit 0 once the daemon took the event, else its error on stderr and exit 1. */
export async function publishCommand(request: PublishRequest): Promise<void> {
  try {
    await publish(request, await readStdin());
  } catch (error) {
    process.stderr.write(`berthd: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
