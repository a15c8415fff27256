import { connect as http2Connect, constants as http2 } from "node:http2";
import { connect } from "node:net";
import { parseArgs } from "node:util";

/**
 * `berthd [--address <socket>] publish --topic <topic> --namespace <ns>`: containerd's `publish`
 * command, the runtime v1 shim's (`containerd-shim`) way to report events. It reads one protobuf
 * `google.protobuf.Any` from stdin and sends it with Events.Publish over the daemon's gRPC socket,
 * which stamps the time, as `containerd publish` does.
 *
 * The shim runs it once per event and the events of a task race its other events (an exit against
 * the delete the client sends next), so it loads nothing but Node's own modules: the request is two
 * protobuf fields around the bytes read, sent over node:http2 (about 50 ms where grpc-js and the
 * generated types take 300).
 */
export interface PublishRequest {
  readonly address: string;
  readonly topic: string;
  readonly namespace: string;
}

const defaultAddress = "/run/berth/berthd.sock";
const publishPath = "/containerd.services.events.v1.Events/Publish";

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

function varint(value: number): Buffer {
  const bytes: number[] = [];
  for (; value > 0x7f; value = Math.floor(value / 128)) bytes.push((value & 0x7f) | 0x80);
  bytes.push(value);
  return Buffer.from(bytes);
}

const lengthDelimited = (field: number, bytes: Uint8Array) => Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);

/** `PublishRequest{1 topic, 2 event}` in a gRPC frame (uncompressed flag, 4-byte length). */
export function publishFrame(topic: string, event: Uint8Array): Buffer {
  const message = Buffer.concat([lengthDelimited(1, Buffer.from(topic)), lengthDelimited(2, event)]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** Sends the event; rejects with the daemon's gRPC status message when it refuses it. */
export function publish(request: PublishRequest, event: Uint8Array, timeoutMs = 10_000): Promise<void> {
  if (request.topic === "") return Promise.reject(new Error("topic required to publish event"));
  const path = request.address.replace(/^unix:\/\//, "");
  return new Promise((resolve, reject) => {
    const session = http2Connect("http://localhost", { createConnection: () => connect(path) });
    const fail = (error: Error) => (session.destroy(), reject(new Error(`failed to publish to ${JSON.stringify(request.address)}: ${error.message}`)));
    const timer = setTimeout(() => fail(new Error("timed out")), timeoutMs);
    session.on("error", fail);
    const stream = session.request({
      [http2.HTTP2_HEADER_METHOD]: "POST",
      [http2.HTTP2_HEADER_PATH]: publishPath,
      [http2.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
      te: "trailers",
      "containerd-namespace": request.namespace,
    });
    let status: string | undefined;
    let message = "";
    const headers = (fields: Record<string, string | string[] | undefined>) => {
      status ??= fields["grpc-status"] as string | undefined;
      message ||= decodeURIComponent(String(fields["grpc-message"] ?? ""));
    };
    stream.on("response", headers);
    stream.on("trailers", headers);
    stream.on("error", fail);
    stream.resume();
    stream.on("close", () => {
      clearTimeout(timer);
      session.close();
      if (status === "0") resolve();
      else reject(new Error(message || `failed to publish event (grpc status ${status ?? "none"})`));
    });
    stream.end(publishFrame(request.topic, event));
  });
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
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
