import { fileURLToPath } from "node:url";
import { Client, refKey } from "@berth/client";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  buildLargeImage,
  buildMultiPlatformIndex,
  htpasswdSupported,
  pushTestImage,
  runCommand,
  spawnTracked,
  startBerthd,
  startRegistry,
  startRegistryProxy,
  startStockContainerd,
  stockContainerdInstalled,
  stopProcess,
  waitUntil,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));
const image = buildBusyboxImage();
const multi = buildMultiPlatformIndex();
const mib = 1 << 20;
/** busybox and a layer of 24 MiB of random bytes, whose download a proxy can hold half-way. */
const large = buildLargeImage({ layerBytes: [24 * mib] });
const bigLayer = large.layers.at(-1)!;
const user = { user: "dave", password: "pa:ss" };
const canAuth = await htpasswdSupported();

const ctr = (address: string, args: string[]) => runCommand(process.execPath, [berthCtr, "--address", address, ...args], { env: { PATH: process.env.PATH } });

/** The calls of `service`'s `method` berthd logged (at debug level, one line per request). */
const calls = (daemon: RunningDaemon, service: string, method: string) =>
  daemon
    .logs()
    .split("\n")
    .filter((line) => line.includes(`"service":"containerd.services.${service}"`) && line.includes(`"method":"${method}"`)).length;

/** The output with what changes from run to run masked: times, bytes moved, and whether a blob was already there. */
const layout = (output: string) =>
  output
    .replace(/elapsed: .*\n/, "elapsed: <elapsed>\n")
    .replace(/done: [0-9.]+(ms|s|µs)/, "done: <time>")
    .replace(/[ \t]+/g, " ")
    .replace(/ (done|exists) \|/g, " <stored> |");

describe("Berth's ctr images pull through the daemon's Transfer service", () => {
  let registry: RunningRegistry;
  let privateRegistry: RunningRegistry | undefined;
  let berthd: RunningDaemon;
  beforeAll(async () => {
    registry = await startRegistry();
    if (canAuth) privateRegistry = await startRegistry({ htpasswd: user });
    berthd = await startBerthd();
    await pushTestImage(image, { url: registry.url, repository: "library/busybox", tag: "1" });
    await pushTestImage(multi, { url: registry.url, repository: "library/multi", tag: "1" });
    await pushTestImage(large, { url: registry.url, repository: "library/large", tag: "1" });
    if (privateRegistry) await pushTestImage(image, { url: privateRegistry.url, repository: "private/busybox", tag: "1", auth: user });
  });
  afterAll(async () => {
    await berthd?.cleanup();
    await registry?.stop();
    await privateRegistry?.stop();
  });

  it("lets berthd pull, and prints what the client-side pull (--local) prints", async () => {
    const ref = `${registry.host}/library/busybox:1`;
    const before = calls(berthd, "transfer.v1.Transfer", "Transfer");
    const writes = () => [calls(berthd, "leases.v1.Leases", "Create"), calls(berthd, "content.v1.Content", "Update")];
    const writesBefore = writes();
    const args = ["images", "pull", "--plain-http", "--platform", "linux/amd64", "--label", "origin=test", "--print-chainid", ref];
    const pulled = await ctr(berthd.address, ["-n", "through-daemon", ...args]);
    expect(pulled.stderr).toBe("");
    expect(pulled.code).toBe(0);
    expect(calls(berthd, "transfer.v1.Transfer", "Transfer")).toBe(before + 1);
    expect(pulled.stdout).toMatch(new RegExp(`^layer-${image.layers[0]!.digest}: +done +\\|\\+{38}\\| *$`, "m"));
    expect(pulled.stdout).toMatch(
      new RegExp(`\nunpacking linux/amd64 ${image.manifest.digest}\\.\\.\\.\nimage chain ID: ${image.diffIds[0]}\ndone: [0-9.]+(ms|s)\t\n$`),
    );
    // ctr's unpack after the Transfer only reads what the daemon unpacked: no lease, no label written again.
    expect(writes()).toEqual(writesBefore);
    const listed = await ctr(berthd.address, ["-n", "through-daemon", "images", "ls"]);
    expect(listed.stdout).toContain("origin=test");

    const local = await ctr(berthd.address, ["-n", "client-side", ...args, "--local"]);
    expect(local.stderr).toBe("");
    expect(calls(berthd, "transfer.v1.Transfer", "Transfer")).toBe(before + 1);
    expect(layout(pulled.stdout)).toBe(layout(local.stdout));
  });

  it("takes the daemon's unpack as done without looking again, printing what the client-side pull prints", async () => {
    const ref = `${registry.host}/library/busybox:1`;
    const looks = () => [calls(berthd, "snapshots.v1.Snapshots", "Stat"), calls(berthd, "content.v1.Content", "Read")];
    const looksBefore = looks();
    const pulled = await ctr(berthd.address, ["-n", "unpacked-by-daemon", "images", "pull", "--plain-http", ref]);
    expect(pulled.stderr).toBe("");
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toMatch(new RegExp(`\nunpacking linux/amd64 ${image.manifest.digest}\\.\\.\\.\ndone: [0-9.]+(ms|s|µs)\t\n$`));
    expect(looks()).toEqual(looksBefore);
    const snapshots = await ctr(berthd.address, ["-n", "unpacked-by-daemon", "snapshots", "ls"]);
    expect(snapshots.stdout).toMatch(new RegExp(`^${image.diffIds[0]}\\s+\\s+Committed`, "m"));

    const local = await ctr(berthd.address, ["-n", "unpacked-here", "images", "pull", "--plain-http", "--local", ref]);
    expect(local.code, local.stderr).toBe(0);
    expect(layout(pulled.stdout)).toBe(layout(local.stdout));
  });

  it("pulls every platform into another snapshotter through the daemon, as the client-side pull does", async () => {
    const ref = `${registry.host}/library/multi:1`;
    const before = calls(berthd, "transfer.v1.Transfer", "Transfer");
    const args = ["images", "pull", "--all-platforms", "--snapshotter", "native", ref];
    const pulled = await ctr(berthd.address, ["-n", "multi-daemon", ...args]);
    expect(pulled.stderr).toBe("");
    expect(pulled.code).toBe(0);
    expect(calls(berthd, "transfer.v1.Transfer", "Transfer")).toBe(before + 1);
    expect(pulled.stdout).toContain(`\nunpacking linux/amd64 ${multi.manifest.digest}...\nunpacking linux/arm64 ${multi.manifest.digest}...\n`);
    const snapshots = await ctr(berthd.address, ["-n", "multi-daemon", "snapshots", "ls", "--snapshotter", "native"]);
    expect(snapshots.stdout).toMatch(new RegExp(`^${multi.diffIds[0]}\\s+\\s+Committed`, "m"));
    const local = await ctr(berthd.address, ["-n", "multi-local", ...args, "--local"]);
    expect(local.code, local.stderr).toBe(0);
    expect(layout(pulled.stdout)).toBe(layout(local.stdout));
  });

  it("stops the daemon's pull when ctr goes away: no image, no lease, no ingest left, and the next pull succeeds", async () => {
    const proxy = await startRegistryProxy(registry.host);
    const client = await Client.connect({ address: berthd.address, namespace: "cancelled" });
    try {
      const ref = `${proxy.host}/library/large:1`;
      proxy.stall(bigLayer.digest, 12 * mib);
      const pulling = spawnTracked(process.execPath, [berthCtr, "--address", berthd.address, "-n", "cancelled", "images", "pull", "--plain-http", ref], {
        PATH: process.env.PATH,
      });
      const ingestOffset = async () => (await client.content.listStatuses(client.context(), [])).find((status) => status.ref === refKey(bigLayer))?.offset ?? 0;
      try {
        await waitUntil("the big layer's ingest", async () => (await ingestOffset()) >= 8 * mib);
      } finally {
        pulling.kill("SIGKILL");
        await stopProcess(pulling);
      }
      // The Transfer is cancelled with its caller: the daemon's registry traffic stops, and its lease goes
      // with the ingest it held (as containerd's GC removes a lease's ingests with the lease).
      await waitUntil("the pull's lease to go", async () => (await client.leases.list(client.context(), [])).length === 0);
      expect(await client.images.list(client.context(), [])).toEqual([]);
      await waitUntil("the ingest to go", async () => (await client.content.listStatuses(client.context(), [])).length === 0);

      proxy.stall(bigLayer.digest, undefined);
      const again = await ctr(berthd.address, ["-n", "cancelled", "images", "pull", "--plain-http", ref]);
      expect(again.code, again.stderr).toBe(0);
      expect((await client.images.list(client.context(), [])).map((image) => image.name)).toEqual([ref]);
    } finally {
      client.close();
      await proxy.close();
    }
  });

  it.skipIf(!canAuth)("sends -u credentials over the auth stream", async () => {
    const ref = `${privateRegistry!.host}/private/busybox:1`;
    const before = calls(berthd, "transfer.v1.Transfer", "Transfer");
    const pulled = await ctr(berthd.address, ["-n", "private", "images", "pull", "-u", `${user.user}:${user.password}`, ref]);
    expect(pulled.stderr).toBe("");
    expect(pulled.code).toBe(0);
    expect(calls(berthd, "transfer.v1.Transfer", "Transfer")).toBe(before + 1);
    // The credentials never travel in the request, so berthd's logs cannot hold them.
    expect(berthd.logs()).not.toContain(user.password);
    const refused = await ctr(berthd.address, ["-n", "private-refused", "images", "pull", ref]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^ctr: .*unauthorized.*\n$/);
  });

  it.skipIf(!stockContainerdInstalled)("falls back to the client-side pull against stock containerd 1.6, without a word about it", async () => {
    const containerd = (await startStockContainerd())!;
    try {
      const ref = `${registry.host}/library/busybox:1`;
      const pulled = await ctr(containerd.address, ["-n", "fallback", "images", "pull", "--plain-http", ref]);
      expect(pulled.stderr).toBe("");
      expect(pulled.code).toBe(0);
      const local = await ctr(containerd.address, ["-n", "fallback-local", "images", "pull", "--local", "--plain-http", ref]);
      expect(local.code, local.stderr).toBe(0);
      expect(layout(pulled.stdout)).toBe(layout(local.stdout));
    } finally {
      await containerd.cleanup();
    }
  });
});
