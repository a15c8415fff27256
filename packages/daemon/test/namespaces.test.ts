import { type ErrorKind, kindOf } from "@berth/api";
import { knownTypes } from "@berth/api/known-types";
import { namespacesV1 } from "@berth/api/proto";
import { Client } from "@berth/client";
import { Exchange } from "@berth/events";
import { MetadataStore, NamespaceService } from "@berth/daemon";
import { type RunningDaemon, startBerthd, testDirectory } from "@berth/testkit";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

async function failure(action: () => Promise<unknown>): Promise<{ kind: ErrorKind | "none"; message: string }> {
  try {
    await action();
    return { kind: "none", message: "" };
  } catch (error) {
    return { kind: kindOf(error), message: (error as Error).message };
  }
}

describe("Namespaces service over gRPC: bad input changes nothing", () => {
  let berthd: RunningDaemon;
  let client: Client;
  beforeAll(async () => {
    berthd = await startBerthd();
    client = await Client.connect({ address: berthd.address });
  });
  afterAll(async () => {
    client?.close();
    await berthd?.cleanup();
  });
  const context = { namespace: "default" };

  it("reads a namespace that does not exist as one without labels", async () => {
    expect(await client.namespaces.get(context, "never-made")).toEqual({ name: "never-made", labels: {} });
  });

  it("refuses an invalid name with InvalidArgument naming the field", async () => {
    for (const name of ["", "bad name", "-lead", "trail-", "a..b", "x".repeat(77)]) {
      const result = await failure(() => client.namespaces.create(context, { name, labels: {} }));
      expect(result.kind).toBe("InvalidArgument");
      expect(result.message).toContain("namespace.name");
    }
    expect(await client.namespaces.list(context)).toEqual([]);
  });

  it("refuses a label over 4096 bytes", async () => {
    const result = await failure(() => client.namespaces.create(context, { name: "big", labels: { key: "v".repeat(4096) } }));
    expect(result.kind).toBe("InvalidArgument");
    expect(result.message).toContain("namespace.labels");
    expect(await client.namespaces.list(context)).toEqual([]);
  });

  it("refuses an unknown field in the update mask and keeps the labels as they were", async () => {
    await client.namespaces.create(context, { name: "masked", labels: { keep: "me" } });
    const result = await failure(() => client.namespaces.update(context, { name: "masked", labels: { keep: "changed", x: "y" } }, ["labels.keep", "name"]));
    expect(result.kind).toBe("InvalidArgument");
    expect(result.message).toContain('"name"');
    expect(await client.namespaces.get(context, "masked")).toEqual({ name: "masked", labels: { keep: "me" } });
  });

  it("replaces all labels with an empty mask and sets one with labels.<key>", async () => {
    await client.namespaces.update(context, { name: "masked", labels: { a: "1", b: "2" } }, []);
    expect((await client.namespaces.get(context, "masked")).labels).toEqual({ a: "1", b: "2" });
    await client.namespaces.update(context, { name: "masked", labels: { "containerd.io/defaults/snapshotter": "btrfs" } }, [
      "labels.containerd.io/defaults/snapshotter",
      "labels.a",
    ]);
    expect((await client.namespaces.get(context, "masked")).labels).toEqual({ b: "2", "containerd.io/defaults/snapshotter": "btrfs" });
    await client.namespaces.delete(context, "masked");
  });

  it("refuses changes without a namespace header as FailedPrecondition, before writing", async () => {
    const bare = client.service(namespacesV1.NamespacesDefinition, {});
    expect((await failure(() => bare.create({ namespace: { name: "headless", labels: {} } }))).kind).toBe("FailedPrecondition");
    expect((await failure(() => bare.update({ namespace: { name: "headless", labels: { a: "b" } }, updateMask: [] }))).kind).toBe("FailedPrecondition");
    expect(await client.namespaces.list(context)).toEqual([]);
  });

  it("says NotFound when deleting a namespace that does not exist, and AlreadyExists on a second create", async () => {
    expect((await failure(() => client.namespaces.delete(context, "ghost"))).kind).toBe("NotFound");
    await client.namespaces.create(context, { name: "once", labels: {} });
    expect((await failure(() => client.namespaces.create(context, { name: "once", labels: {} }))).kind).toBe("AlreadyExists");
    await client.namespaces.delete(context, "once");
  });
});

describe("NamespaceService on the metadata store", () => {
  let directory: string;
  let store: MetadataStore;
  let service: NamespaceService;
  beforeAll(() => {
    directory = testDirectory("metadata");
    store = MetadataStore.open(directory);
    service = new NamespaceService(store, new Exchange(), knownTypes());
  });
  afterAll(async () => {
    await store?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it("refuses to delete a namespace that still holds something, naming what, and keeps it", async () => {
    await service.create({ namespace: "default" }, { name: "busy", labels: { a: "b" } });
    const images = store.scoped<{ target: string }>("images", "images");
    const containers = store.scoped<{ id: string }>("containers", "containers");
    await store.transaction(() => {
      images.put("busy", "docker.io/library/redis:latest", { target: "sha256:x" });
      containers.put("busy", "c1", { id: "c1" });
    });
    const result = await failure(() => service.delete({ namespace: "default" }, "busy"));
    expect(result.kind).toBe("FailedPrecondition");
    expect(result.message).toBe('namespace "busy" must be empty, but it still has images, containers: failed precondition');
    expect(await service.get({}, "busy")).toEqual({ name: "busy", labels: { a: "b" } });
    await store.transaction(() => {
      images.remove("busy", "docker.io/library/redis:latest");
      containers.remove("busy", "c1");
    });
    await service.delete({ namespace: "default" }, "busy");
    expect(await service.list({})).toEqual([]);
  });

  it("keeps nothing of a transaction that fails half-way", async () => {
    const images = store.scoped<{ target: string }>("images", "images");
    await expect(
      store.transaction(() => {
        images.put("half", "img", { target: "t" });
        throw new Error("fails after a write");
      }),
    ).rejects.toThrow("fails after a write");
    expect(images.get("half", "img")).toBeUndefined();
  });

  it("keeps namespaces apart whose names share a prefix", async () => {
    const images = store.scoped<{ target: string }>("images", "images");
    await service.create({ namespace: "default" }, { name: "ns", labels: {} });
    await service.create({ namespace: "default" }, { name: "ns2", labels: {} });
    await store.transaction(() => images.put("ns2", "img", { target: "t" }));
    await service.delete({ namespace: "default" }, "ns");
    expect((await failure(() => service.delete({ namespace: "default" }, "ns2"))).kind).toBe("FailedPrecondition");
  });
});
