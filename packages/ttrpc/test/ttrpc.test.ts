import { spawn } from "node:child_process";
import { chmodSync, existsSync, rmSync } from "node:fs";
import { type Socket, connect, createServer } from "node:net";
import { join } from "node:path";
import { type Envelope, errorOfKind, kindOf, notFound } from "@berth/api";
import { eventsTtrpcV1, google_protobuf_empty, taskV2, ttrpc } from "@berth/api/proto";
import { testDirectory } from "@berth/testkit";
import { FrameDecoder, TtrpcClient, TtrpcServer, encodeFrame, maxMessageLength, messageTypes, ttrpcServiceClient } from "@berth/ttrpc";
import { afterEach, beforeEach, describe, expect, test } from "vitest";

let directory: string;
let server: TtrpcServer;
let socketPath: string;
const clients: TtrpcClient[] = [];

const forwarded: { envelope: Envelope | undefined; namespace: string | undefined }[] = [];
const release = new Map<string, () => void>();

beforeEach(async () => {
  directory = testDirectory("ttrpc");
  socketPath = join(directory, "t.sock");
  forwarded.length = 0;
  server = new TtrpcServer();
  server.register(eventsTtrpcV1.EventsDefinition, {
    forward: async (request, context) => {
      forwarded.push({ envelope: request.envelope, namespace: context.namespace });
      return {};
    },
  });
  // A State that waits until the test releases it, to make responses come back out of order; it
  // answers NotFound for "missing" and reports whether its call was cancelled for "slow".
  server.register(taskV2.TaskDefinition, {
    ...unimplementedTask(),
    state: async (request, context) => {
      if (request.id === "missing") throw notFound(`container ${request.id}`);
      if (request.id === "crash") throw new Error("boom");
      if (request.id === "slow") {
        await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve(), { once: true }));
        return { ...taskV2.StateResponse.fromPartial({ id: "slow" }), exitStatus: context.signal.aborted ? 1 : 0 };
      }
      await new Promise<void>((resolve) => release.set(request.id, resolve));
      return taskV2.StateResponse.fromPartial({ id: request.id, bundle: context.metadata.get("x-extra") ?? "", pid: 42 });
    },
  });
  await server.listen({ path: socketPath });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server.close();
  rmSync(directory, { recursive: true, force: true });
});

function unimplementedTask() {
  const handlers: Record<string, () => Promise<never>> = {};
  for (const key of Object.keys(taskV2.TaskDefinition.methods)) handlers[key] = () => Promise.reject(errorOfKind("NotImplemented", key));
  return handlers as unknown as Parameters<TtrpcServer["register"]>[1] & Record<keyof typeof taskV2.TaskDefinition.methods, never>;
}

async function dial(): Promise<TtrpcClient> {
  const client = await TtrpcClient.connect(`unix://${socketPath}`);
  clients.push(client);
  return client;
}

async function failureOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    return { kind: kindOf(error), message: (error as Error).message };
  }
  return { kind: "none", message: "" };
}

/** A raw connection that collects the frames the server sends back. */
async function rawConnection(): Promise<{ socket: Socket; responses: Map<number, ttrpc.Response> }> {
  const socket = connect(socketPath);
  await new Promise((resolve) => socket.once("connect", resolve));
  const responses = new Map<number, ttrpc.Response>();
  const decoder = new FrameDecoder(
    (frame) => responses.set(frame.streamId, ttrpc.Response.decode(frame.payload)),
    () => undefined,
  );
  socket.on("data", (chunk: Buffer) => decoder.push(chunk));
  return { socket, responses };
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const stateRequest = (id: string) => Buffer.from(taskV2.StateRequest.encode({ id, execId: "" }).finish());
const requestFrame = (streamId: number, service: string, method: string, payload: Buffer) =>
  encodeFrame(streamId, messageTypes.request, ttrpc.Request.encode({ service, method, payload, timeoutNano: 0, metadata: [] }).finish());

describe("ttrpc client and server", () => {
  test("responses that come back out of order reach their own callers; metadata and namespace arrive", async () => {
    const task = ttrpcServiceClient(taskV2.TaskDefinition, await dial(), { namespace: "ns1" });
    const first = task.state({ id: "a", execId: "" }, { metadata: { "x-extra": "meta" } });
    const second = task.state({ id: "b", execId: "" });
    await until(() => release.has("a") && release.has("b"));
    release.get("b")!();
    expect((await second).id).toBe("b");
    release.get("a")!();
    expect(await first).toMatchObject({ id: "a", bundle: "meta", pid: 42 });

    const events = ttrpcServiceClient(eventsTtrpcV1.EventsDefinition, clients[0]!, { namespace: "ns1" });
    await events.forward({ envelope: { timestamp: { seconds: 1, nanos: 0 }, namespace: "ns1", topic: "/tasks/x", event: undefined } });
    expect(forwarded).toEqual([{ envelope: expect.objectContaining({ topic: "/tasks/x", namespace: "ns1" }), namespace: "ns1" }]);
  });

  test("client stream ids are odd and increase by two", async () => {
    // A bare server that records the ids the client sends.
    const seen: number[] = [];
    const probePath = join(directory, "probe.sock");
    const raw = createServer((connection) => {
      const decoder = new FrameDecoder(
        (frame) => {
          seen.push(frame.streamId);
          const payload = ttrpc.Response.encode({ status: { code: 0, message: "", details: [] }, payload: Buffer.alloc(0) }).finish();
          connection.write(encodeFrame(frame.streamId, messageTypes.response, payload));
        },
        () => undefined,
      );
      connection.on("data", (chunk: Buffer) => decoder.push(chunk));
    });
    await new Promise<void>((resolve) => raw.listen(probePath, resolve));
    try {
      const client = await TtrpcClient.connect(probePath);
      clients.push(client);
      const events = ttrpcServiceClient(eventsTtrpcV1.EventsDefinition, client);
      for (let i = 0; i < 3; i++) await events.forward({ envelope: undefined });
      expect(seen).toEqual([1, 3, 5]);
    } finally {
      for (const client of clients.splice(0)) client.close();
      await new Promise((resolve) => raw.close(resolve));
    }
  });

  test("errors come back as their kinds: NotFound from a handler, Unknown for a plain throw, NotImplemented for unknown service or method", async () => {
    const client = await dial();
    const task = ttrpcServiceClient(taskV2.TaskDefinition, client);
    expect(await failureOf(task.state({ id: "missing", execId: "" }))).toEqual({ kind: "NotFound", message: "container missing: not found" });
    expect((await failureOf(task.state({ id: "crash", execId: "" }))).kind).toBe("Unknown");
    expect(await failureOf(client.call("containerd.task.v9.Task", "State", stateRequest("a")))).toEqual({
      kind: "NotImplemented",
      message: "service containerd.task.v9.Task: not implemented",
    });
    expect(await failureOf(client.call("containerd.task.v2.Task", "Fly", stateRequest("a")))).toMatchObject({ kind: "NotImplemented" });
  });

  test("a timeout fails the call with DeadlineExceeded and aborts the handler's signal", async () => {
    const task = ttrpcServiceClient(taskV2.TaskDefinition, await dial());
    expect((await failureOf(task.state({ id: "slow", execId: "" }, { timeoutMs: 100 }))).kind).toBe("DeadlineExceeded");
    // The server saw timeout_nano and aborted too: a later call on the same connection still works.
    const answer = task.state({ id: "c", execId: "" });
    await until(() => release.has("c"));
    release.get("c")!();
    expect((await answer).id).toBe("c");
  });

  test("calls fail with Unavailable when the server goes away, pending or later", async () => {
    const task = ttrpcServiceClient(taskV2.TaskDefinition, await dial());
    const pending = failureOf(task.state({ id: "d", execId: "" }));
    await until(() => release.has("d"));
    await server.close();
    expect((await pending).kind).toBe("Unavailable");
    expect((await failureOf(task.state({ id: "e", execId: "" }))).kind).toBe("Unavailable");
    expect(existsSync(socketPath)).toBe(false);
    expect((await failureOf(TtrpcClient.connect(socketPath))).kind).toBe("Unavailable");
  });

  test("the server answers an even stream id with InvalidArgument, an oversized request with ResourceExhausted, and ignores unknown frame types", async () => {
    const { socket, responses } = await rawConnection();
    socket.write(requestFrame(2, "containerd.task.v2.Task", "State", stateRequest("missing")));
    // Unknown type 0x7f: ignored, the connection stays usable.
    socket.write(encodeFrame(7, 0x7f, Buffer.from("whatever")));
    const oversized = Buffer.alloc(10);
    oversized.writeUInt32BE(maxMessageLength + 1, 0);
    oversized.writeUInt32BE(9, 4);
    oversized.writeUInt8(messageTypes.request, 8);
    socket.write(oversized);
    socket.write(Buffer.alloc(maxMessageLength + 1));
    socket.write(requestFrame(11, "containerd.task.v2.Task", "State", stateRequest("missing")));
    await until(() => responses.size === 3);
    expect(responses.get(2)?.status?.code).toBe(3);
    expect(responses.get(7)).toBeUndefined();
    expect(responses.get(9)?.status?.code).toBe(8);
    expect(responses.get(11)?.status).toMatchObject({ code: 5, message: "container missing: not found" });
    socket.destroy();
  });

  test("the client refuses to send more than 4 MiB with ResourceExhausted, sending nothing", async () => {
    const client = await dial();
    const big = Buffer.alloc(maxMessageLength + 1);
    expect((await failureOf(client.call("containerd.services.events.ttrpc.v1.Events", "Forward", big))).kind).toBe("ResourceExhausted");
    const events = ttrpcServiceClient(eventsTtrpcV1.EventsDefinition, client);
    await events.forward({ envelope: undefined });
    expect(forwarded).toHaveLength(1);
  });

  test("a peer running as another user is refused (SO_PEERCRED)", async () => {
    await server.close();
    server = new TtrpcServer();
    server.register(eventsTtrpcV1.EventsDefinition, { forward: async () => google_protobuf_empty.Empty.fromPartial({}) });
    // Reachable by anyone as far as file modes go, so that only the credential check refuses.
    chmodSync(directory, 0o711);
    await server.listen({ path: socketPath, mode: 0o666 });
    const script = `
      const s = require("node:net").connect(${JSON.stringify(socketPath)});
      s.on("connect", () => s.write(Buffer.from(${JSON.stringify([...requestFrame(1, "containerd.services.events.ttrpc.v1.Events", "Forward", Buffer.alloc(0))])})));
      let got = 0;
      s.on("data", (d) => (got += d.length));
      s.on("error", () => undefined);
      s.on("close", () => { console.log(got === 0 ? "refused" : "answered"); });
    `;
    const nobody = spawn(process.execPath, ["-e", script], { uid: 65534, gid: 65534, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    nobody.stdout.on("data", (chunk: Buffer) => (output += chunk));
    nobody.stderr.on("data", (chunk: Buffer) => (output += chunk));
    await new Promise((resolve) => nobody.once("exit", resolve));
    expect(output.trim()).toBe("refused");
    // Our own uid is served on the same socket.
    await ttrpcServiceClient(eventsTtrpcV1.EventsDefinition, await dial()).forward({ envelope: undefined });
  });
});
