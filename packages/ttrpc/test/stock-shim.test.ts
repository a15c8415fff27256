// The ttrpc client and server against a real peer: Debian's containerd-shim-runc-v2, started as
// containerd starts it. Our client drives its Task service; its events come to our server.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import { type Envelope, kindOf } from "@berth/api";
import { eventsTtrpcV1, runcV1, taskV2 } from "@berth/api/proto";
import { removeTestCgroups, runCommand, testDirectory, testRuntimeSpec, writeBusyboxRootfs } from "@berth/testkit";
import { TtrpcClient, TtrpcServer, socketPathOf, ttrpcServiceClient } from "@berth/ttrpc";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const shimBinary = "/usr/bin/containerd-shim-runc-v2";
const namespace = "ttrpc-test";
const id = `shim-${process.pid}`;
const cgroupsPath = `/berth-test-${id}`;

let directory: string;
let bundle: string;
let events: TtrpcServer;
let logPipe: Socket | undefined;
let shimAddress: string | undefined;
let client: TtrpcClient | undefined;
const received: Envelope[] = [];

describe.skipIf(!existsSync(shimBinary))("the stock containerd-shim-runc-v2 over @berth/ttrpc", () => {
  beforeAll(async () => {
    directory = testDirectory("stock-shim");
    bundle = join(directory, "bundle");
    mkdirSync(join(bundle, "rootfs"), { recursive: true });
    // `start` reads the spec (for grouping annotations) before anything else.
    writeBusyboxRootfs(join(bundle, "rootfs"));
    writeFileSync(join(bundle, "config.json"), JSON.stringify(testRuntimeSpec({ args: ["sh", "-c", "exit 3"], cgroupsPath })));
    const daemonAddress = join(directory, "berthd.sock");
    events = new TtrpcServer();
    events.register(eventsTtrpcV1.EventsDefinition, {
      forward: async (request) => {
        if (request.envelope !== undefined) received.push(request.envelope);
        return {};
      },
    });
    await events.listen({ path: `${daemonAddress}.ttrpc` });
    // The shim writes its log to this FIFO; containerd opens it read-write so neither end blocks.
    execFileSync("mkfifo", ["-m", "0700", join(bundle, "log")]);
    logPipe = new Socket({ fd: openSync(join(bundle, "log"), "r+"), readable: true, writable: false });
    logPipe.on("data", () => undefined);
    const start = spawnSync(shimBinary, ["-namespace", namespace, "-address", daemonAddress, "-publish-binary", "/bin/false", "-id", id, "start"], {
      cwd: bundle,
      env: { ...process.env, TTRPC_ADDRESS: `${daemonAddress}.ttrpc`, GOMAXPROCS: "2" },
      input: Buffer.alloc(0),
      timeout: 20_000,
    });
    expect(start.status, start.stderr.toString()).toBe(0);
    shimAddress = start.stdout.toString().trim();
    client = await TtrpcClient.connect(shimAddress);
  });

  afterAll(async () => {
    // Whatever happened, no runc container, shim, socket, cgroup or directory stays behind.
    if (client !== undefined && !client.isClosed) {
      const task = ttrpcServiceClient(taskV2.TaskDefinition, client, { namespace, timeoutMs: 10_000 });
      await task.kill({ id, execId: "", signal: 9, all: true }).catch(() => undefined);
      await task.delete({ id, execId: "" }).catch(() => undefined);
      await task.shutdown({ id, now: true }).catch(() => undefined);
      await client.closed;
    }
    await runCommand("runc", ["--root", join(directory, "runc"), "delete", "--force", id]).catch(() => undefined);
    if (shimAddress !== undefined) rmSync(socketPathOf(shimAddress), { force: true });
    logPipe?.destroy();
    await events?.close();
    removeTestCgroups(cgroupsPath);
    rmSync(directory, { recursive: true, force: true });
  });

  test("Connect and State answer through our client; an unknown container is NotFound", async () => {
    expect(shimAddress).toMatch(/^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
    const task = ttrpcServiceClient(taskV2.TaskDefinition, client!, { namespace, timeoutMs: 10_000 });
    const connected = await task.connect({ id });
    expect(connected.shimPid).toBeGreaterThan(0);
    expect(connected.taskPid).toBe(0);
    const failure = await task.state({ id, execId: "" }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(kindOf(failure)).toBe("NotFound");
  });

  test("a task runs to completion; the shim forwards its events to our server; Shutdown ends the shim and its socket", async () => {
    const task = ttrpcServiceClient(taskV2.TaskDefinition, client!, { namespace, timeoutMs: 20_000 });
    const options = {
      typeUrl: "containerd.runc.v1.Options",
      value: Buffer.from(runcV1.Options.encode(runcV1.Options.fromPartial({ root: join(directory, "runc") })).finish()),
    };
    const created = await task.create(taskV2.CreateTaskRequest.fromPartial({ id, bundle, options }));
    expect(created.pid).toBeGreaterThan(0);
    expect((await task.state({ id, execId: "" })).status).toBe(1); // CREATED
    const exited = task.wait({ id, execId: "" });
    expect((await task.start({ id, execId: "" })).pid).toBe(created.pid);
    expect((await exited).exitStatus).toBe(3);
    const deleted = await task.delete({ id, execId: "" });
    expect(deleted).toMatchObject({ pid: created.pid, exitStatus: 3 });

    // Events are forwarded asynchronously: all four before the shim is told to go.
    const deadline = Date.now() + 10_000;
    while (received.length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const shimPid = (await task.connect({ id })).shimPid;
    // The shim may exit before its answer is sent; containerd ignores ttrpc.ErrClosed on Shutdown too.
    await task.shutdown({ id, now: false }).catch((error: unknown) => {
      if (kindOf(error) !== "Unavailable") throw error;
    });
    await client!.closed;
    while (processExists(shimPid) && Date.now() < deadline + 10_000) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(processExists(shimPid)).toBe(false);
    expect(existsSync(socketPathOf(shimAddress!))).toBe(false);

    const topics = received.map((envelope) => envelope.topic);
    expect(topics).toEqual(["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"]);
    expect(new Set(received.map((envelope) => envelope.namespace))).toEqual(new Set([namespace]));
  });
});

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
