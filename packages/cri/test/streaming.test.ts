// The streaming server's WebSocket side (critest covers SPDY): exec, attach and port-forward with
// Kubernetes' channel protocols, as kubectl's WebSocket clients speak them.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { criV1 } from "@berth/api/cri";
import { type ServiceClient, createServiceClient, grpc } from "@berth/api/services";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type CriKit, criKitMissing, startCriKit } from "@berth/testkit";

interface Received {
  readonly channels: Map<number, Buffer>;
  readonly closed: Promise<void>;
}

function collect(ws: WebSocket): Received {
  const channels = new Map<number, Buffer>();
  ws.on("message", (message: Buffer) => channels.set(message[0]!, Buffer.concat([channels.get(message[0]!) ?? Buffer.alloc(0), message.subarray(1)])));
  return { channels, closed: new Promise((resolve) => ws.once("close", () => resolve())) };
}

describe.skipIf(criKitMissing !== undefined)("CRI streaming over WebSocket", () => {
  let kit: CriKit;
  let channel: grpc.Client;
  let runtime: ServiceClient<typeof criV1.RuntimeServiceDefinition>;
  let pod: string;
  let container: string;

  async function crictl(...args: string[]): Promise<string> {
    const result = await kit.crictl(...args);
    if (result.code !== 0) throw new Error(`crictl ${args.join(" ")}: ${result.stderr}`);
    return result.stdout.trim();
  }

  beforeAll(async () => {
    kit = await startCriKit();
    channel = new grpc.Client(`unix://${kit.daemon.address}`, grpc.credentials.createInsecure(), { "grpc.default_authority": kit.daemon.address });
    runtime = createServiceClient(criV1.RuntimeServiceDefinition, channel);
    const podJson = join(kit.directory, "pod.json");
    const ctrJson = join(kit.directory, "ctr.json");
    writeFileSync(podJson, JSON.stringify({ metadata: { name: "ws", namespace: "streaming", uid: "uid-ws", attempt: 1 }, linux: {} }));
    const serve = "mkdir -p /tmp/www && echo served-in-pod > /tmp/www/index.html && httpd -p 8080 -h /tmp/www && cat";
    writeFileSync(
      ctrJson,
      JSON.stringify({ metadata: { name: "ws-c" }, image: { image: "busybox:1.28" }, command: ["sh", "-c", serve], stdin: true, linux: {} }),
    );
    await crictl("pull", "busybox:1.28");
    pod = await crictl("runp", podJson);
    container = await crictl("create", pod, ctrJson, podJson);
    await crictl("start", container);
  }, 600_000);
  afterAll(async () => {
    channel?.close();
    await kit?.cleanup();
  }, 300_000);

  it("runs an exec: stdout and stderr on their channels, the exit code in v4's status on the error channel", async () => {
    const { url } = await runtime.exec({
      containerId: container,
      cmd: ["sh", "-c", "echo out; echo err >&2; exit 3"],
      tty: false,
      stdin: false,
      stdout: true,
      stderr: true,
    });
    const received = collect(new WebSocket(url.replace(/^http/, "ws"), ["v4.channel.k8s.io"]));
    await received.closed;
    expect(received.channels.get(1)?.toString()).toBe("out\n");
    expect(received.channels.get(2)?.toString()).toBe("err\n");
    const status = JSON.parse(received.channels.get(3)?.toString() ?? "{}") as { status: string; reason: string; details: { causes: { message: string }[] } };
    expect(status).toMatchObject({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "3" }] } });
  });

  it("speaks the base64 variant", async () => {
    const { url } = await runtime.exec({ containerId: container, cmd: ["echo", "-n", "hello"], tty: false, stdin: false, stdout: true, stderr: false });
    const ws = new WebSocket(url.replace(/^http/, "ws"), ["v4.base64.channel.k8s.io"]);
    const messages: string[] = [];
    ws.on("message", (message: Buffer) => messages.push(message.toString()));
    await new Promise((resolve) => ws.once("close", resolve));
    const stdout = messages
      .filter((m) => m.startsWith("1"))
      .map((m) => Buffer.from(m.slice(1), "base64").toString())
      .join("");
    expect(stdout).toBe("hello");
    expect(messages.find((m) => m.startsWith("3"))).toBe(`3${Buffer.from(JSON.stringify({ metadata: {}, status: "Success" })).toString("base64")}`);
  });

  it("attaches to the container's stdin and stdout", async () => {
    const { url } = await runtime.attach({ containerId: container, stdin: true, tty: false, stdout: true, stderr: true });
    const ws = new WebSocket(url.replace(/^http/, "ws"), ["v4.channel.k8s.io"]);
    const received = collect(ws);
    await new Promise((resolve) => ws.once("open", resolve));
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("echoed back\n")]));
    await expect.poll(() => received.channels.get(1)?.toString(), { timeout: 20_000 }).toContain("echoed back");
    ws.close();
    await received.closed;
  });

  it("forwards a port into the pod's network namespace", async () => {
    const { url } = await runtime.portForward({ podSandboxId: pod, port: [8080] });
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}?port=8080`, ["v4.channel.k8s.io"]);
    const received = collect(ws);
    await new Promise((resolve) => ws.once("open", resolve));
    // Each channel opens with the port, 2 bytes little-endian.
    await expect.poll(() => received.channels.get(1)?.readUInt16LE(0), { timeout: 20_000 }).toBe(8080);
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("GET /index.html HTTP/1.0\r\n\r\n")]));
    await expect.poll(() => received.channels.get(0)?.toString(), { timeout: 20_000 }).toContain("served-in-pod");
    ws.close();
    await received.closed;
  });
});
