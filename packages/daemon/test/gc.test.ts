import { existsSync } from "node:fs";
import { join } from "node:path";
import type { CallContext } from "@berth/api";
import { Client } from "@berth/client";
import { digestOf, writeBlob } from "@berth/content";
import { type RunningDaemon, startBerthd } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("garbage collection", () => {
  let berthd: RunningDaemon;
  let client: Client;
  const onDisk = (digest: string) => existsSync(join(berthd.root, "io.containerd.content.v1.content", "blobs", "sha256", digest.slice(7)));
  beforeAll(async () => {
    berthd = await startBerthd();
    client = await Client.connect({ address: berthd.address });
  });
  afterAll(async () => {
    client?.close();
    await berthd?.cleanup();
  });

  async function write(context: CallContext, data: string, labels: Record<string, string> = {}): Promise<string> {
    return (await writeBlob(client.content, context, `ref-${digestOf(data)}`, Buffer.from(data), { labels })).digest;
  }

  /** Runs a collection now, the way `ctr leases rm --sync` does. */
  async function collect(context: CallContext): Promise<void> {
    const lease = await client.leases.create(context, { id: "", labels: {} });
    await client.leases.delete(context, lease.id, true);
  }

  it("removes blobs from disk once the last image referencing them is gone, following gc.ref labels", async () => {
    const context = { namespace: "gc1" };
    const lease = await client.leases.create(context, { id: "pull", labels: {} });
    const leased = { ...context, lease: lease.id };
    const layer = await write(leased, "layer bytes");
    const config = await write(leased, '{"config":true}');
    const manifest = await write(leased, '{"manifest":true}', { "containerd.io/gc.ref.content.l.0": layer, "containerd.io/gc.ref.content.config": config });
    const target = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: manifest, size: 17, annotations: {} };
    await client.images.create(context, { name: "example.com/a:1", labels: {}, target });
    await client.images.create(context, { name: "example.com/a:2", labels: {}, target });
    await client.leases.delete(context, lease.id, true);
    for (const digest of [layer, config, manifest]) expect(onDisk(digest)).toBe(true);

    await client.images.delete(context, "example.com/a:1", true);
    for (const digest of [layer, config, manifest]) expect(onDisk(digest)).toBe(true);
    await client.images.delete(context, "example.com/a:2", true);
    for (const digest of [layer, config, manifest]) expect(onDisk(digest)).toBe(false);
  });

  it("keeps a blob another namespace still references", async () => {
    const shared = await write({ namespace: "gc2a", lease: (await client.leases.create({ namespace: "gc2a" }, { id: "l", labels: {} })).id }, "shared blob");
    await write({ namespace: "gc2b" }, "shared blob", { "containerd.io/gc.root": "yes" });
    await client.leases.delete({ namespace: "gc2a" }, "l", true);
    expect(onDisk(shared)).toBe(true);
    await client.content.update({ namespace: "gc2b" }, { digest: shared, labels: {} }, ["labels"]);
    await collect({ namespace: "gc2b" });
    expect(onDisk(shared)).toBe(false);
  });

  it("keeps blobs under a live lease, and drops them when the lease expires", async () => {
    const context = { namespace: "gc3" };
    const expire = new Date(Date.now() + 1500).toISOString();
    const lease = await client.leases.create(context, { id: "short", labels: { "containerd.io/gc.expire": expire } });
    const digest = await write({ ...context, lease: lease.id }, "leased bytes");
    await collect(context);
    expect(onDisk(digest)).toBe(true);
    expect((await client.leases.listResources(context, "short")).map((r) => r.type)).toContain("content");
    await new Promise((resolve) => setTimeout(resolve, 1600));
    await collect(context);
    expect(onDisk(digest)).toBe(false);
    expect((await client.leases.list(context, [])).map((l) => l.id)).not.toContain("short");
  });

  it("collects a committed blob that nothing references", async () => {
    const digest = await write({ namespace: "gc4" }, "orphan bytes");
    await collect({ namespace: "gc4" });
    expect(onDisk(digest)).toBe(false);
  });
});
