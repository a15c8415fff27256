import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { Duplex, PassThrough, Writable } from "node:stream";
import type { criV1 } from "@berth/api/proto";
import { AttachedIO, newFifoSet, processAny, removeFifos } from "@berth/client";
import type { CriContext } from "./context.js";
import { execProcess } from "./exec.js";
import { SpdySession, type SpdyStream } from "./spdy.js";

const remoteCommandProtocols = ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"];
const portForwardProtocols = ["portforward.k8s.io"];
const streamCreationTimeoutMs = 30_000;

/** The HTTP upgrade to SPDY/3.1 with the first protocol the client offers that we speak. */
function upgrade(http: IncomingMessage, socket: Duplex, head: Buffer, supported: readonly string[]): { session: SpdySession; protocol: string } | undefined {
  const offered = (http.headers["x-stream-protocol-version"] as string | string[] | undefined) ?? [];
  const list = (Array.isArray(offered) ? offered : [offered]).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
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

interface RemoteStreams {
  error?: SpdyStream;
  stdin?: SpdyStream;
  stdout?: SpdyStream;
  stderr?: SpdyStream;
  resize?: SpdyStream;
}

/** Waits until the client has opened every stream the request asks for. */
function collectStreams(session: SpdySession, expected: number): Promise<RemoteStreams> {
  return new Promise((resolve, reject) => {
    const streams: RemoteStreams = {};
    let count = 0;
    const timer = setTimeout(() => reject(new Error("timed out waiting for client to create streams")), streamCreationTimeoutMs);
    session.on("stream", (stream: SpdyStream) => {
      const type = stream.headers.streamtype as keyof RemoteStreams | undefined;
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

const readableOf = (stream: SpdyStream) => stream.readable;

/** v4's completion on the error stream; older versions write only an error's text. */
function reportExit(protocol: string, error: SpdyStream | undefined, exitCode: number | undefined, failure?: string): void {
  if (error === undefined) return;
  if (protocol === "v4.channel.k8s.io") {
    let status: unknown = { metadata: {}, status: "Success" };
    if (failure !== undefined) status = { metadata: {}, status: "Failure", message: failure, reason: "InternalError", details: { causes: [{ message: failure }] }, code: 500 };
    else if (exitCode !== 0)
      status = { metadata: {}, status: "Failure", message: `command terminated with non-zero exit code: error executing command [${exitCode}], exit code ${exitCode}`, reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] } };
    error.write(JSON.stringify(status));
  } else if (failure !== undefined || exitCode !== 0) {
    error.write(failure ?? `command terminated with non-zero exit code: ${exitCode}`);
  }
}

function expectedStreams(request: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }, protocol: string): number {
  const resize = request.tty && (protocol === "v4.channel.k8s.io" || protocol === "v3.channel.k8s.io") ? 1 : 0;
  return 1 + Number(request.stdin) + Number(request.stdout) + Number(request.stderr && !request.tty) + resize;
}

function followResize(stream: SpdyStream | undefined, resize: (size: { width: number; height: number }) => void): void {
  if (stream === undefined) return;
  let buffered = "";
  stream.readable.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    // A sequence of JSON objects: {"Width":w,"Height":h}{…}
    for (let end = buffered.indexOf("}"); end !== -1; end = buffered.indexOf("}")) {
      const text = buffered.slice(0, end + 1);
      buffered = buffered.slice(end + 1);
      try {
        const { Width, Height } = JSON.parse(text) as { Width?: number; Height?: number };
        if (Width && Height) resize({ width: Width, height: Height });
      } catch {
        // not a size
      }
    }
  });
}

function finish(session: SpdySession, streams: RemoteStreams): void {
  for (const stream of Object.values(streams)) (stream as SpdyStream).end();
  session.close();
}

export async function serveExec(context: CriContext, request: criV1.ExecRequest, http: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const upgraded = upgrade(http, socket, head, remoteCommandProtocols);
  if (upgraded === undefined) return;
  const { session, protocol } = upgraded;
  const streams = await collectStreams(session, expectedStreams(request, protocol));
  const ctx = context.client.context();
  const execId = randomBytes(32).toString("hex");
  let fifos: Awaited<ReturnType<typeof newFifoSet>> | undefined;
  let attached: AttachedIO | undefined;
  try {
    const process = await execProcess(context, request.containerId, request.cmd, request.tty);
    fifos = await newFifoSet(join(context.state, "containers", request.containerId, "io"), execId, request.tty);
    const io = { stdin: request.stdin ? fifos.stdin : "", stdout: fifos.stdout, stderr: request.tty ? "" : fifos.stderr, terminal: request.tty };
    attached = AttachedIO.attach(io, { stdout: writableOf(streams.stdout) ?? new PassThrough().resume(), stderr: writableOf(streams.stderr) ?? new PassThrough().resume() });
    await context.client.tasks.exec(ctx, request.containerId, execId, processAny(process), io);
    const exited = context.client.tasks.wait(ctx, request.containerId, execId);
    await context.client.tasks.start(ctx, request.containerId, execId);
    if (streams.stdin !== undefined) attached.copyStdin(readableOf(streams.stdin), () => context.client.tasks.closeIO(ctx, request.containerId, execId));
    followResize(streams.resize, (size) => void context.client.tasks.resizePty(ctx, request.containerId, size, execId).catch(() => undefined));
    const exit = await exited;
    await attached.wait(2000);
    reportExit(protocol, streams.error, exit.exitStatus);
  } catch (error) {
    reportExit(protocol, streams.error, undefined, (error as Error).message);
  } finally {
    attached?.close();
    await context.client.tasks.deleteProcess(ctx, request.containerId, execId).catch(() => undefined);
    if (fifos !== undefined) await removeFifos(fifos);
    finish(session, streams);
  }
}

export async function serveAttach(context: CriContext, request: criV1.AttachRequest, http: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const upgraded = upgrade(http, socket, head, remoteCommandProtocols);
  if (upgraded === undefined) return;
  const { session, protocol } = upgraded;
  const streams = await collectStreams(session, expectedStreams(request, protocol));
  const record = context.containers.get(request.containerId);
  const ctx = context.client.context();
  const sink = { stdout: writableOf(streams.stdout), stderr: writableOf(streams.stderr) };
  record.attached ??= new Set();
  record.attached.add(sink);
  let stdin: AttachedIO | undefined;
  try {
    if (streams.stdin !== undefined && record.io !== undefined && record.io.stdin !== "") {
      stdin = AttachedIO.attach({ ...record.io, stdout: "", stderr: "" }, {});
      const once = record.config.stdinOnce;
      stdin.copyStdin(readableOf(streams.stdin), async () => {
        if (once && !record.config.tty) await context.client.tasks.closeIO(ctx, record.id);
      });
    }
    followResize(streams.resize, (size) => void context.client.tasks.resizePty(ctx, record.id, size).catch(() => undefined));
    await Promise.race([record.exited, new Promise((resolve) => session.once("close", resolve))]);
    reportExit(protocol, streams.error, 0);
  } finally {
    record.attached.delete(sink);
    stdin?.close();
    finish(session, streams);
  }
}

/** A connection to `port` on localhost inside the pod's network namespace (or the host's). */
function dialInPod(netns: string, port: number): Duplex {
  if (netns === "") return connect(port, "127.0.0.1");
  const script = `const s=require("net").connect(${port},"127.0.0.1");process.stdin.pipe(s);s.pipe(process.stdout);s.on("error",e=>{process.stderr.write(e.message);process.exit(1)});s.on("end",()=>process.exit(0))`;
  const child = spawn("nsenter", [`--net=${netns}`, "--", process.execPath, "-e", script], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  const duplex = new Duplex({
    read() {
      child.stdout.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      child.stdin.write(chunk, callback);
    },
    final(callback) {
      child.stdin.end(callback);
    },
    destroy(error, callback) {
      child.kill();
      callback(error);
    },
  });
  child.stdout.on("data", (chunk: Buffer) => {
    if (!duplex.push(chunk)) child.stdout.pause();
  });
  child.stdout.on("end", () => duplex.push(null));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.on("close", (code) => {
    if (code !== 0 && code !== null) duplex.destroy(new Error(stderr || `port forward helper exited ${code}`));
  });
  child.on("error", (error) => duplex.destroy(error));
  child.stdin.on("error", () => undefined);
  return duplex;
}

export async function servePortForward(context: CriContext, request: criV1.PortForwardRequest, http: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const upgraded = upgrade(http, socket, head, portForwardProtocols);
  if (upgraded === undefined) return;
  const { session } = upgraded;
  const sandbox = context.sandboxes.get(request.podSandboxId);
  const errors = new Map<string, SpdyStream>();
  session.on("stream", (stream: SpdyStream) => {
    const requestId = stream.headers.requestid ?? String(stream.id);
    if (stream.headers.streamtype === "error") {
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
