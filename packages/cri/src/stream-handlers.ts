import type { IncomingMessage } from "node:http";
import { type Duplex, Writable } from "node:stream";
import type { criV1 } from "@berth/api/cri";
import type { CriContext } from "./context.js";
import { dialInPod } from "./port-forward.js";
import { type RemoteChannels, remoteCommandProtocols, runAttach, runExec } from "./remote-command.js";
import { SpdySession, type SpdyStream } from "./spdy.js";

const portForwardProtocols = ["portforward.k8s.io"];
const streamCreationTimeoutMs = 30_000;

/** The HTTP upgrade to SPDY/3.1 with the first protocol the client offers that we speak. */
function upgrade(http: IncomingMessage, socket: Duplex, head: Buffer, supported: readonly string[]): { session: SpdySession; protocol: string } | undefined {
  const offered = (http.headers["x-stream-protocol-version"] as string | string[] | undefined) ?? [];
  const list = (Array.isArray(offered) ? offered : [offered])
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
  if (list.length === 0) {
    socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    return undefined;
  }
  const protocol = list.find((p) => supported.includes(p));
  if (protocol === undefined) {
    socket.end(`HTTP/1.1 403 Forbidden\r\nX-Accepted-Stream-Protocol-Versions: ${supported.join(", ")}\r\nContent-Length: 0\r\n\r\n`);
    return undefined;
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
  if (head.length > 0) socket.unshift(head);
  return { session: new SpdySession(socket), protocol };
}

type StreamType = "error" | "stdin" | "stdout" | "stderr" | "resize";

/** Waits until the client has opened every stream the request asks for. */
function collectStreams(session: SpdySession, expected: number): Promise<Partial<Record<StreamType, SpdyStream>>> {
  return new Promise((resolve, reject) => {
    const streams: Partial<Record<StreamType, SpdyStream>> = {};
    let count = 0;
    const timer = setTimeout(() => reject(new Error("timed out waiting for client to create streams")), streamCreationTimeoutMs);
    session.on("stream", (stream: SpdyStream) => {
      const type = stream.headers.streamtype as StreamType | undefined;
      if (type === undefined || !["error", "stdin", "stdout", "stderr", "resize"].includes(type)) return;
      streams[type] = stream;
      if (++count === expected) {
        clearTimeout(timer);
        resolve(streams);
      }
    });
    session.once("close", () => {
      clearTimeout(timer);
      reject(new Error("connection closed before the streams were created"));
    });
  });
}

function writableOf(stream: SpdyStream | undefined): Writable | undefined {
  if (stream === undefined) return undefined;
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      stream.write(chunk);
      callback();
    },
  });
}

/** The remote command channels over SPDY: one stream per channel, as the client opened them. */
async function spdyChannels(
  http: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  request: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean },
): Promise<RemoteChannels | undefined> {
  const upgraded = upgrade(http, socket, head, remoteCommandProtocols);
  if (upgraded === undefined) return undefined;
  const { session, protocol } = upgraded;
  const resize = request.tty && (protocol === "v4.channel.k8s.io" || protocol === "v3.channel.k8s.io") ? 1 : 0;
  const expected = 1 + Number(request.stdin) + Number(request.stdout) + Number(request.stderr && !request.tty) + resize;
  const streams = await collectStreams(session, expected);
  return {
    stdin: streams.stdin?.readable,
    stdout: writableOf(streams.stdout),
    stderr: writableOf(streams.stderr),
    resize: streams.resize?.readable,
    writeError: (text) => streams.error?.write(text),
    v4: protocol === "v4.channel.k8s.io",
    closed: new Promise((resolve) => session.once("close", resolve)),
    close() {
      for (const stream of Object.values(streams)) stream.end();
      session.close();
    },
  };
}

export async function serveSpdyExec(context: CriContext, request: criV1.ExecRequest, http: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const channels = await spdyChannels(http, socket, head, request);
  if (channels !== undefined) await runExec(context, request, channels);
}

export async function serveSpdyAttach(context: CriContext, request: criV1.AttachRequest, http: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const channels = await spdyChannels(http, socket, head, request);
  if (channels !== undefined) await runAttach(context, request, channels);
}

/** Port forwarding over SPDY: per connection the client opens an `error` and a `data` stream with the same requestID. */
export async function serveSpdyPortForward(
  context: CriContext,
  request: criV1.PortForwardRequest,
  http: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const upgraded = upgrade(http, socket, head, portForwardProtocols);
  if (upgraded === undefined) return;
  const { session } = upgraded;
  const sandbox = context.sandboxes.get(request.podSandboxId);
  const errors = new Map<string, SpdyStream>();
  session.on("stream", (stream: SpdyStream) => {
    const requestId = stream.headers.requestid ?? String(stream.id);
    if (stream.headers.streamtype === "error") {
      stream.readable.resume();
      errors.set(requestId, stream);
      return;
    }
    if (stream.headers.streamtype !== "data") return;
    const port = Number(stream.headers.port);
    const target = dialInPod(sandbox.netnsPath, port);
    stream.readable.on("data", (chunk: Buffer) => target.write(chunk));
    stream.readable.once("end", () => target.end());
    target.on("data", (chunk: Buffer) => stream.write(chunk));
    target.once("end", () => {
      stream.end();
      errors.get(requestId)?.end();
    });
    target.once("error", (error: Error) => {
      const errorStream = errors.get(requestId);
      errorStream?.write(`error forwarding port ${port} to pod ${sandbox.id}: ${error.message}`);
      errorStream?.end();
      stream.end();
    });
  });
  await new Promise((resolve) => session.once("close", resolve));
}
