import type { IncomingMessage } from "node:http";
import { type Duplex, PassThrough, Writable } from "node:stream";
import type { criV1 } from "@berth/api/cri";
import { type WebSocket, WebSocketServer } from "ws";
import type { CriContext } from "./context.js";
import { dialInPod } from "./port-forward.js";
import { type RemoteChannels, runAttach, runExec } from "./remote-command.js";

/**
 * Kubernetes' WebSocket channel protocols (wsstream): the first byte of each message names the
 * channel; the base64 variants send it as an ASCII digit and the payload in base64.
 */
const remoteCommandProtocols = ["v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io"];
const portForwardProtocols = ["v4.channel.k8s.io", "v4.base64.channel.k8s.io"];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;

function accept(http: IncomingMessage, socket: Duplex, head: Buffer, supported: readonly string[]): Promise<WebSocket> {
  const server = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => [...offered].find((p) => supported.includes(p)) ?? false,
  });
  return new Promise((resolve) => server.handleUpgrade(http, socket, head, (ws) => resolve(ws)));
}

class ChannelCodec {
  readonly base64: boolean;

  constructor(readonly ws: WebSocket) {
    this.base64 = ws.protocol.includes("base64");
  }

  send(channel: number, data: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.base64) this.ws.send(`${String.fromCharCode(48 + channel)}${data.toString("base64")}`);
    else this.ws.send(Buffer.concat([Buffer.from([channel]), data]));
  }

  onMessage(handler: (channel: number, data: Buffer) => void): void {
    this.ws.on("message", (message: Buffer, isBinary: boolean) => {
      const bytes = Buffer.isBuffer(message) ? message : Buffer.from(message as unknown as string);
      if (bytes.length === 0) return;
      if (this.base64 || !isBinary) handler(bytes[0]! - 48, Buffer.from(bytes.subarray(1).toString("utf8"), "base64"));
      else handler(bytes[0]!, bytes.subarray(1));
    });
  }

  writable(channel: number): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.send(channel, chunk);
        callback();
      },
    });
  }
}

async function wsChannels(
  http: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  request: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean },
): Promise<RemoteChannels> {
  const ws = await accept(http, socket, head, remoteCommandProtocols);
  const codec = new ChannelCodec(ws);
  const stdin = new PassThrough();
  const resize = new PassThrough();
  codec.onMessage((channel, data) => {
    if (channel === STDIN) stdin.write(data);
    else if (channel === RESIZE) resize.write(data);
  });
  const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
  void closed.then(() => {
    stdin.end();
    resize.end();
  });
  // The first (empty) message tells the client the streams are up.
  codec.send(request.stdout ? STDOUT : request.stderr ? STDERR : ERROR, Buffer.alloc(0));
  return {
    stdin: request.stdin ? stdin : undefined,
    stdout: request.stdout ? codec.writable(STDOUT) : undefined,
    stderr: request.stderr && !request.tty ? codec.writable(STDERR) : undefined,
    resize: request.tty ? resize : undefined,
    writeError: (text) => codec.send(ERROR, Buffer.from(text)),
    v4: ws.protocol.startsWith("v4."),
    closed,
    close: () => ws.close(1000),
  };
}

export async function serveWebSocketExec(context: CriContext, request: criV1.ExecRequest, http: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  await runExec(context, request, await wsChannels(http, socket, head, request));
}

export async function serveWebSocketAttach(
  context: CriContext,
  request: criV1.AttachRequest,
  http: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  await runAttach(context, request, await wsChannels(http, socket, head, request));
}

/** Port forwarding over WebSocket: the ports from `?port=`; channels 2i (data) and 2i+1 (error), each opened with the port as 2 bytes, little-endian. */
export async function serveWebSocketPortForward(
  context: CriContext,
  request: criV1.PortForwardRequest,
  http: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const query = new URL(http.url ?? "/", "http://localhost").searchParams.getAll("port").map(Number);
  const ports = query.length > 0 ? query : request.port;
  const sandbox = context.sandboxes.get(request.podSandboxId);
  const ws = await accept(http, socket, head, portForwardProtocols);
  const codec = new ChannelCodec(ws);
  const targets = ports.map((port, i) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port);
    codec.send(2 * i, prefix);
    codec.send(2 * i + 1, prefix);
    const target = dialInPod(sandbox.netnsPath, port);
    target.on("data", (chunk: Buffer) => codec.send(2 * i, chunk));
    target.on("error", (error: Error) => codec.send(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${sandbox.id}: ${error.message}`)));
    return target;
  });
  codec.onMessage((channel, data) => {
    if (channel % 2 === 0) targets[channel / 2]?.write(data);
  });
  await new Promise<void>((resolve) => ws.once("close", () => resolve()));
  for (const target of targets) target.destroy();
}
