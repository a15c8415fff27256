// Berth's shim binary driven directly, as a shim v2 client drives it: `start` (one server per
// namespace or group, reused), the Task API over our ttrpc client, events forwarded to our ttrpc
// server (retried when it fails), and `delete` after the server died.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { packJson, unavailable } from "@berth/api";
import { eventsTtrpcV1, taskV2 } from "@berth/api/proto";
import { mountPointsUnder } from "@berth/mount";
import { berthShimPath } from "@berth/runtime-linux";
import { reapRuntimeLeftovers, runCommand, shimsOf, testDirectory, testRuntimeSpec, writeBusyboxRootfs } from "@berth/testkit";
import { TtrpcClient, TtrpcServer, socketPathOf, ttrpcServiceClient } from "@berth/ttrpc";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { waitFor } from "./daemon-setup.js";

const run = promisify(execFile);
const cgroupParent = `/berth-test-shim-binary-${process.pid}`;
let directory: string;
let address: string;
let rootfs: string;
/** runc's state root: without a root in the options, `runc/<namespace>` beside the daemon socket. */
let runcRoot: string;
let events: TtrpcServer;
const forwarded: string[] = [];
let failForwards = 0;
const clients: TtrpcClient[] = [];

function bundle(namespace: string, id: string, args: readonly string[], annotations: Record<string, string> = {}): string {
  const path = join(directory, "bundles", namespace, id);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, "config.json"), JSON.stringify({ ...testRuntimeSpec({ args, cgroupsPath: `${cgroupParent}/${id}` }), annotations }));
  return path;
}

const shimArgs = (namespace: string, id: string) => ["-namespace", namespace, "-address", address, "-publish-binary", "/bin/false", "-id", id];

/** `start` in the bundle, reading its runtime options (none by default) on stdin to the end, as containerd gives them. */
async function start(namespace: string, id: string, bundlePath: string, daemonAddress = address): Promise<string> {
  const started = run(berthShimPath, ["-namespace", namespace, "-address", daemonAddress, "-publish-binary", "/bin/false", "-id", id, "start"], {
    cwd: bundlePath,
    env: { ...process.env, TTRPC_ADDRESS: `${daemonAddress}.ttrpc` },
  });
  started.child.stdin!.end();
  return (await started).stdout;
}

async function task(shimAddress: string, namespace: string) {
  const client = await TtrpcClient.connect(shimAddress);
  clients.push(client);
  return ttrpcServiceClient(taskV2.TaskDefinition, client, { namespace, timeoutMs: 20_000 });
}

describe("Berth's shim binary", () => {
  beforeAll(async () => {
    directory = testDirectory("shim-binary");
    address = join(directory, "daemon.sock");
    rootfs = join(directory, "rootfs");
    runcRoot = join(directory, "runc");
    writeBusyboxRootfs(rootfs);
    events = new TtrpcServer();
    events.register(eventsTtrpcV1.EventsDefinition, {
      forward: async ({ envelope }) => {
        if (failForwards > 0) {
          failForwards -= 1;
          throw unavailable("not now");
        }
        if (envelope !== undefined) forwarded.push(`${envelope.namespace} ${envelope.topic}`);
        return {};
      },
    });
    await events.listen({ path: `${address}.ttrpc` });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    for (const pid of shimsOf(address)) process.kill(pid, "SIGKILL");
    await reapRuntimeLeftovers({ directory, runcRoots: [runcRoot], cgroups: [cgroupParent] });
    await events.close();
    await runCommand("rm", ["-rf", directory]);
  });

  test("start: one server per namespace, or per group annotation, reused by later starts; its address in the bundle", async () => {
    const a = await start("one", "a", bundle("one", "a", ["true"]));
    const b = await start("one", "b", bundle("one", "b", ["true"]));
    const c = await start("two", "c", bundle("two", "c", ["true"]));
    const d = await start("one", "d", bundle("one", "d", ["true"], { "io.containerd.runc.v2.group": "pod" }));
    expect(a).toMatch(new RegExp(`^unix://${directory}/s/[0-9a-f]{64}$`));
    expect(b).toBe(a);
    expect(new Set([a, c, d]).size).toBe(3);
    expect(readFileSync(join(directory, "bundles", "one", "b", "address"), "utf8")).toBe(b);
    expect(shimsOf(address).length).toBeGreaterThanOrEqual(3);
    // Told to shut down while serving nothing, each server ends the caller's connection and leaves.
    for (const [shimAddress, namespace] of [
      [a, "one"],
      [c, "two"],
      [d, "one"],
    ] as const) {
      const client = await TtrpcClient.connect(shimAddress);
      await ttrpcServiceClient(taskV2.TaskDefinition, client, { namespace }).shutdown({ id: "x", now: false });
      await client.closed;
    }
    expect(await waitFor(() => [a, c, d].every((shimAddress) => !existsSync(socketPathOf(shimAddress))))).toBe(true);
    expect(await waitFor(() => shimsOf(address).length === 0)).toBe(true);
    // Nor does a group's lock outlive its server.
    expect(readdirSync(join(directory, "s"))).toEqual([]);
  });

  test("starts at once share one server (the group's lock), and no lock file stays", async () => {
    const ids = ["r1", "r2", "r3", "r4", "r5", "r6"];
    const addresses = await Promise.all(ids.map((id) => start("racing", id, bundle("racing", id, ["true"]))));
    expect(new Set(addresses).size).toBe(1);
    const servers = shimsOf(address).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").endsWith("serve\0"));
    expect(servers).toHaveLength(1);
    expect(readdirSync(join(directory, "s")).filter((name) => name.endsWith(".lock"))).toEqual([]);
    const client = await TtrpcClient.connect(addresses[0]!);
    await ttrpcServiceClient(taskV2.TaskDefinition, client, { namespace: "racing" }).shutdown({ id: "r1", now: false });
    await client.closed;
    expect(await waitFor(() => !existsSync(`/proc/${servers[0]}`))).toBe(true);
  });

  test("a server whose socket directory was removed still leaves once idle", async () => {
    const elsewhere = join(directory, "gone", "daemon.sock");
    mkdirSync(join(directory, "gone"));
    const path = bundle("one", "gone", ["true"]);
    const stdout = await start("one", "gone", path, elsewhere);
    try {
      const client = await TtrpcClient.connect(stdout);
      expect(shimsOf(elsewhere)).toHaveLength(1);
      await runCommand("rm", ["-rf", join(directory, "gone")]);
      await ttrpcServiceClient(taskV2.TaskDefinition, client, { namespace: "one" }).shutdown({ id: "gone", now: false });
      await client.closed;
      expect(await waitFor(() => shimsOf(elsewhere).length === 0)).toBe(true);
    } finally {
      for (const pid of shimsOf(elsewhere)) process.kill(pid, "SIGKILL");
    }
  });

  test("events reach the daemon in order, also when Forward fails at first", async () => {
    const path = bundle("one", "evented", ["sh", "-c", "exit 2"]);
    const shim = await task(await start("one", "evented", path), "one");
    failForwards = 2;
    forwarded.length = 0;
    const rootfsMounts = [{ type: "bind", source: rootfs, target: "", options: ["rbind", "rw"] }];
    const created = await shim.create(taskV2.CreateTaskRequest.fromPartial({ id: "evented", bundle: path, rootfs: rootfsMounts }));
    const exited = shim.wait({ id: "evented", execId: "" });
    await shim.start({ id: "evented", execId: "" });
    expect((await exited).exitStatus).toBe(2);
    expect(await shim.delete({ id: "evented", execId: "" })).toMatchObject({ pid: created.pid, exitStatus: 2 });
    await waitFor(() => forwarded.length >= 4);
    expect(forwarded).toEqual(["one /tasks/create", "one /tasks/start", "one /tasks/exit", "one /tasks/delete"]);
    expect(mountPointsUnder(path)).toEqual([]);
  });

  test("delete after the server died: the container is gone, its rootfs unmounted, 137 reported", async () => {
    const path = bundle("two", "orphan", ["sleep", "1000"]);
    const shim = await task(await start("two", "orphan", path), "two");
    const rootfsMounts = [{ type: "bind", source: rootfs, target: "", options: ["rbind", "rw"] }];
    const { pid } = await shim.create(taskV2.CreateTaskRequest.fromPartial({ id: "orphan", bundle: path, rootfs: rootfsMounts }));
    await shim.start({ id: "orphan", execId: "" });
    const [server] = shimsOf(address).filter((candidate) => readFileSync(`/proc/${candidate}/cmdline`, "utf8").endsWith("serve\0"));
    process.kill(server!, "SIGKILL");
    expect(mountPointsUnder(path)).toHaveLength(1);
    const { stdout } = await run(berthShimPath, [...shimArgs("two", "orphan"), "-bundle", path, "delete"], { cwd: path, encoding: "buffer" });
    const response = taskV2.DeleteResponse.decode(stdout);
    expect(response).toMatchObject({ pid, exitStatus: 137 });
    expect(mountPointsUnder(path)).toEqual([]);
    expect(await waitFor(() => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/status`, "utf8").includes("State:\tZ"))).toBe(true);
  });

  test("a terminal: output through the pty, its size set by ResizePty", async () => {
    const path = bundle("one", "tty", ["sh", "-c", "tty; sleep 1000"]);
    const spec = JSON.parse(readFileSync(join(path, "config.json"), "utf8"));
    spec.process.terminal = true;
    writeFileSync(join(path, "config.json"), JSON.stringify(spec));
    const stdout = join(directory, "tty.out");
    writeFileSync(stdout, "");
    const shim = await task(await start("one", "tty", path), "one");
    const rootfsMounts = [{ type: "bind", source: rootfs, target: "", options: ["rbind", "rw"] }];
    const { pid } = await shim.create(taskV2.CreateTaskRequest.fromPartial({ id: "tty", bundle: path, rootfs: rootfsMounts, terminal: true, stdout }));
    await shim.start({ id: "tty", execId: "" });
    expect(await waitFor(() => readFileSync(stdout, "utf8").includes("/dev/pts/0"))).toBe(true);
    await shim.resizePty({ id: "tty", execId: "", width: 100, height: 30 });
    // The container's end of the pty, seen from here.
    expect((await runCommand("stty", ["-F", `/proc/${pid}/fd/0`, "size"])).stdout).toBe("30 100\n");
    await shim.kill({ id: "tty", execId: "", signal: 9, all: false });
    expect((await shim.wait({ id: "tty", execId: "" })).exitStatus).toBe(137);
    await shim.delete({ id: "tty", execId: "" });
    expect(mountPointsUnder(path)).toEqual([]);
  });

  test("Exec: the request's terminal wins over the process spec's, both ways (as containerd's shim)", async () => {
    const path = bundle("one", "execs", ["sleep", "1000"]);
    const shim = await task(await start("one", "execs", path), "one");
    const rootfsMounts = [{ type: "bind", source: rootfs, target: "", options: ["rbind", "rw"] }];
    await shim.create(taskV2.CreateTaskRequest.fromPartial({ id: "execs", bundle: path, rootfs: rootfsMounts }));
    await shim.start({ id: "execs", execId: "" });
    const execProcess = async (execId: string, requestTerminal: boolean, specTerminal: boolean) => {
      const stdout = join(directory, `${execId}.out`);
      writeFileSync(stdout, "");
      const spec = { ...(testRuntimeSpec({ args: ["sh", "-c", "tty; exit 3"], cgroupsPath: "" }).process as object), terminal: specTerminal };
      await shim.exec({
        id: "execs",
        execId,
        terminal: requestTerminal,
        stdin: "",
        stdout,
        stderr: "",
        spec: packJson("types.containerd.io/opencontainers/runtime-spec/1/Process", spec),
      });
      const exited = shim.wait({ id: "execs", execId });
      await shim.start({ id: "execs", execId });
      expect((await exited).exitStatus).toBe(3);
      await shim.delete({ id: "execs", execId });
      return readFileSync(stdout, "utf8");
    };
    // Go client style: a terminal asked for in the request, not in the spec; and the other way round.
    expect(await execProcess("asked", true, false)).toMatch(/^\/dev\/pts\/\d+\r?\n$/);
    expect(await execProcess("unasked", false, true)).toBe("not a tty\n");
    await shim.kill({ id: "execs", execId: "", signal: 9, all: false });
    await shim.wait({ id: "execs", execId: "" });
    await shim.delete({ id: "execs", execId: "" });
  });

  test("bad flags and actions are refused; -v names the shim", async () => {
    const unknown = await runCommand(berthShimPath, ["-nosuch", "start"]);
    expect(unknown).toMatchObject({ code: 2, stderr: "flag provided but not defined: -nosuch\n" });
    expect((await runCommand(berthShimPath, [...shimArgs("one", "x"), "frobnicate"])).code).toBe(2);
    expect((await runCommand(berthShimPath, ["-v"])).stdout).toContain("containerd-shim-berth-v2");
  });
});
