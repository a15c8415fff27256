import { existsSync } from "node:fs";
import { join } from "node:path";
import { type CallContext, type Envelope } from "@berth/api";
import { knownTypes } from "@berth/api/known-types";
import { containersV1 } from "@berth/api/proto";
import { Client, ContainersProxy } from "@berth/client";
import { digestOf, writeBlob } from "@berth/content";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
  stockCtr,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeContainerStoreConformance, newContainer } from "./containers-suite.js";

let berthd: RunningDaemon;
let containerd: RunningDaemon | undefined;
const clients: Client[] = [];
let sequence = 0;

beforeAll(async () => {
  berthd = await startBerthd();
  containerd = await startStockContainerd();
});
afterAll(async () => {
  for (const client of clients) client.close();
  await berthd?.cleanup();
  await containerd?.cleanup();
});

async function proxyTo(daemon: RunningDaemon): Promise<ContainersProxy> {
  const client = await Client.connect({ address: daemon.address });
  clients.push(client);
  // No default namespace: each call names its own, and calls without one show the daemon's answer.
  return new ContainersProxy(client.service(containersV1.ContainersDefinition, {}));
}

let berthdContainers: ContainersProxy;
let stockContainers: ContainersProxy | undefined;
beforeAll(async () => {
  berthdContainers = await proxyTo(berthd);
  if (containerd !== undefined) stockContainers = await proxyTo(containerd);
});

describeContainerStoreConformance("gRPC proxy to berthd", () => ({ containers: berthdContainers, namespace: () => `suite${++sequence}` }));
describe.skipIf(!stockContainerdInstalled)("the same contract against stock containerd", () => {
  describeContainerStoreConformance("gRPC proxy to stock containerd", () => ({ containers: stockContainers!, namespace: () => `suite${++sequence}` }));
});

describe("berthd's Containers service", () => {
  let client: Client;
  beforeAll(async () => {
    client = await Client.connect({ address: berthd.address });
    clients.push(client);
  });

  /** Runs a collection now, the way `ctr leases rm --sync` does. */
  async function collect(context: CallContext): Promise<void> {
    const lease = await client.leases.create(context, { id: "", labels: {} });
    await client.leases.delete(context, lease.id, true);
  }

  it("names the offending field in its refusals", async () => {
    const context = { namespace: "messages" };
    await expect(client.containers.create(context, newContainer("bad/id"))).rejects.toThrow(
      /container\.id: identifier "bad\/id" must match .*: invalid argument/,
    );
    await expect(client.containers.create(context, newContainer("c", { runtime: { name: "", options: undefined } }))).rejects.toThrow(
      /container\.runtime\.name: must be set: invalid argument/,
    );
    await expect(client.containers.create(context, newContainer("c", { spec: undefined }))).rejects.toThrow(/container\.spec: must be set/);
    await expect(client.containers.create(context, newContainer("c", { snapshotKey: "k" }))).rejects.toThrow(
      /container\.snapshotter: must be set if container\.snapshot_key is set/,
    );
    await client.containers.create(context, newContainer("c"));
    await expect(client.containers.update(context, newContainer("c"), ["runtime"])).rejects.toThrow(
      /update_mask: cannot update "runtime" field on "c": invalid argument/,
    );
    await expect(client.containers.create(context, newContainer("c"))).rejects.toThrow(/container "c": already exists/);
    await client.containers.delete(context, "c");
  });

  it("publishes /containers/create, /update and /delete", async () => {
    const abort = new AbortController();
    const stream = client.events.subscribe(["topic~=/containers/.+,namespace==evented"], abort.signal);
    await stream.ready;
    const seen: Envelope[] = [];
    const reading = (async () => {
      for await (const envelope of stream) {
        seen.push(envelope);
        if (seen.length === 3) break;
      }
    })();
    const context = { namespace: "evented" };
    await client.containers.create(context, newContainer("e1", { labels: { a: "1" } }));
    await client.containers.update(context, newContainer("e1", { labels: { b: "2" }, snapshotter: "overlayfs" }), ["labels.b"]);
    await client.containers.delete(context, "e1");
    await reading;
    abort.abort();
    const types = knownTypes();
    expect(seen.map((e) => [e.namespace, e.topic, e.event?.typeUrl])).toEqual([
      ["evented", "/containers/create", "containerd.events.ContainerCreate"],
      ["evented", "/containers/update", "containerd.events.ContainerUpdate"],
      ["evented", "/containers/delete", "containerd.events.ContainerDelete"],
    ]);
    expect(types.unpack(seen[0]!.event!)).toMatchObject({ id: "e1", image: "docker.io/library/busybox:latest", runtime: { name: "io.containerd.runc.v2" } });
    expect(types.unpack(seen[1]!.event!)).toMatchObject({ id: "e1", labels: { a: "1", b: "2" } });
    expect(types.unpack(seen[2]!.event!)).toEqual({ id: "e1" });
  });

  it("keeps its snapshot and the content its labels reference until it is deleted", async () => {
    const context = { namespace: "gcroots" };
    const lease = await client.leases.create(context, { id: "setup", labels: {} });
    const leased = { ...context, lease: lease.id };
    const snapshotter = client.snapshotter("overlayfs");
    await snapshotter.prepare(leased, "rootfs-key", "");
    const blob = (await writeBlob(client.content, leased, "ref-kept", Buffer.from("kept by a container"))).digest;
    const loose = (await writeBlob(client.content, leased, "ref-loose", Buffer.from("kept by nothing"))).digest;
    const onDisk = (digest: string) => existsSync(join(berthd.root, "io.containerd.content.v1.content", "blobs", "sha256", digest.slice(7)));
    await client.containers.create(
      context,
      newContainer("pinning", { snapshotter: "overlayfs", snapshotKey: "rootfs-key", labels: { "containerd.io/gc.ref.content.x": blob } }),
    );
    await client.leases.delete(context, lease.id, true);

    expect((await snapshotter.stat(context, "rootfs-key")).kind).toBe("active");
    expect(onDisk(blob)).toBe(true);
    expect(onDisk(loose)).toBe(false);
    expect(blob).toBe(digestOf("kept by a container"));

    await client.containers.delete(context, "pinning");
    await collect(context);
    await expect(snapshotter.stat(context, "rootfs-key")).rejects.toMatchObject({ kind: "NotFound" });
    expect(onDisk(blob)).toBe(false);
  });

  it("keeps its namespace from being deleted", async () => {
    const context = { namespace: "occupied" };
    await client.containers.create(context, newContainer("c"));
    await expect(client.namespaces.delete(context, "occupied")).rejects.toThrow(/must be empty, but it still has containers/);
    await client.containers.delete(context, "c");
    await client.namespaces.delete(context, "occupied");
  });

  it("keeps its records across a restart", async () => {
    const context = { namespace: "durable" };
    const created = await client.containers.create(context, newContainer("stays", { labels: { a: "b" } }));
    await berthd.stop();
    berthd = await startBerthd({ reuse: berthd });
    client = await Client.connect({ address: berthd.address });
    clients.push(client);
    berthdContainers = await proxyTo(berthd);
    expect(await client.containers.get(context, "stays")).toEqual(created);
    await client.containers.delete(context, "stays");
  });
});

/** Debian's stock ctr drives berthd's Containers service as it drives a stock containerd. */
describe.skipIf(!stockContainerdInstalled)("stock ctr containers against berthd and stock containerd", () => {
  let registry: RunningRegistry;
  let ref: string;
  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
    ref = `${registry.host}/library/busybox:latest`;
  });
  afterAll(async () => {
    await registry?.stop();
  });

  /** Runs one ctr command against both daemons. */
  const both = async (...args: string[]) => {
    const [ours, theirs] = await Promise.all(
      [berthd, containerd!].map((daemon) => runCommand(stockCtr!, ["--address", daemon.address, "-n", "stockctr", ...args])),
    );
    return { ours: ours!, theirs: theirs! };
  };
  /** `ctr containers info` without the times, which differ between any two runs. */
  const timeless = (info: string) => {
    const parsed = JSON.parse(info) as Record<string, unknown>;
    expect(parsed.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    return { ...parsed, CreatedAt: undefined, UpdatedAt: undefined };
  };

  it("creates, lists, shows, labels and removes containers with the same output", async () => {
    const pulled = await both("images", "pull", "--plain-http", ref);
    expect([pulled.ours.code, pulled.theirs.code]).toEqual([0, 0]);

    const created = await both("containers", "create", "--label", "tier=web", ref, "c1");
    expect(created.ours).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(created.ours).toEqual(created.theirs);
    await both("containers", "create", "--env", "A=b", ref, "c2", "echo", "hi");

    for (const args of [
      ["containers", "ls"],
      ["containers", "ls", "-q"],
      ["containers", "ls", "labels.tier==web"],
      ["containers", "ls", "id==c2"],
    ]) {
      const listed = await both(...args);
      expect(listed.ours.code).toBe(0);
      expect(listed.ours.stdout).toBe(listed.theirs.stdout);
    }
    expect((await both("containers", "ls", "-q")).ours.stdout).toBe("c1\nc2\n");

    for (const id of ["c1", "c2"]) {
      const info = await both("containers", "info", id);
      expect(info.ours.code).toBe(0);
      expect(timeless(info.ours.stdout)).toEqual(timeless(info.theirs.stdout));
    }

    const labelled = await both("containers", "label", "c1", "tier=", "extra=1");
    expect(labelled.ours.code).toBe(0);
    const labels = (out: string) => out.trim().split(",").sort();
    expect(labels(labelled.ours.stdout)).toEqual(labels(labelled.theirs.stdout));
    expect(labels(labelled.ours.stdout)).toEqual(["extra=1", "io.containerd.image.config.stop-signal=SIGTERM"]);

    const missing = await both("containers", "info", "nope");
    expect(missing.ours.code).toBe(1);
    expect(missing.ours.stderr).toMatch(/container "nope" in namespace "stockctr": not found/);
    const again = await both("containers", "create", ref, "c1");
    expect([again.ours.code, again.theirs.code]).toEqual([1, 1]);
    // ctr prepares the snapshot named after the container first, and that name is taken.
    expect(again.ours.stderr).toBe('ctr: snapshot "c1": already exists\n');
    expect(again.ours.stderr).toBe(again.theirs.stderr);

    const removed = await both("containers", "rm", "c1", "c2");
    expect(removed.ours).toMatchObject({ code: 0, stdout: "" });
    expect(removed.ours.stdout).toBe(removed.theirs.stdout);
    const left = await both("containers", "ls", "-q");
    expect(left.ours.stdout).toBe("");
    const snapshots = await both("snapshots", "ls");
    expect(snapshots.ours.stdout).toBe(snapshots.theirs.stdout);
    expect(snapshots.ours.stdout).not.toMatch(/^c[12] /m);
  });
});
