import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, chainIds, pull, refKey } from "@berth/client";
import { withMounts } from "@berth/mount";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildLargeImage,
  buildMultiLayerImage,
  pushTestImage,
  startBerthd,
  startRegistry,
  startRegistryProxy,
  waitUntil,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("pulling a multi-layer image", () => {
  let registry: RunningRegistry;
  let berthd: RunningDaemon;
  const multi = buildMultiLayerImage();
  beforeAll(async () => {
    registry = await startRegistry();
    berthd = await startBerthd();
    await pushTestImage(multi, { url: registry.url, repository: "library/multi", tag: "latest" });
  });
  afterAll(async () => {
    await berthd?.cleanup();
    await registry?.stop();
  });

  // Without a progress callback: an optional call once skipped storing altogether.
  it("stores every blob and unpacks each layer onto its parent, whiteouts applied", async () => {
    const client = await Client.connect({ address: berthd.address, namespace: "multi" });
    const scratch = mkdtempSync(join(tmpdir(), "berth-test-pull-multi-"));
    try {
      const image = await pull(client, `${registry.host}/library/multi:latest`, { plainHttp: true });
      expect(image.target.digest).toBe(multi.manifest.digest);
      for (const layer of multi.layers) expect((await client.content.info(client.context(), layer.digest)).size).toBe(layer.size);
      const chain = chainIds(multi.diffIds);
      for (const [i, chainId] of chain.entries()) {
        const info = await client.snapshotter().stat(client.context(), chainId);
        expect(info).toMatchObject({ kind: "committed", parent: i === 0 ? "" : chain[i - 1] });
      }
      // Leased: the GC the pull's lease removal scheduled would take an unreferenced view.
      const lease = await client.leases.create(client.context(), { id: "look", labels: {} });
      await client.snapshotter().view({ ...client.context(), lease: lease.id }, "look", chain.at(-1)!);
      try {
        await withMounts(
          await client.snapshotter().mounts(client.context(), "look"),
          (root) => {
            expect(readFileSync(join(root, "etc/hostname"), "utf8")).toBe("layer-four\n");
            expect(existsSync(join(root, "tmp/remove-me"))).toBe(false);
            expect(readFileSync(join(root, "data/keep"), "utf8")).toBe("kept\n");
            expect(readFileSync(join(root, "data/new"), "utf8")).toBe("added in layer three\n");
          },
          { tempDir: scratch },
        );
      } finally {
        await client.snapshotter().remove(client.context(), "look");
        await client.leases.delete(client.context(), lease.id);
      }
    } finally {
      client.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("unpacks each layer as soon as it and its parent are there, while the last layer is still being fetched", async () => {
    // An image of its own: blobs another test stored would be taken from the content store, not fetched.
    const image = buildLargeImage({ layerBytes: [200_000, 200_000, 200_000], filesPerLayer: 4 });
    await pushTestImage(image, { url: registry.url, repository: "library/early", tag: "latest" });
    const client = await Client.connect({ address: berthd.address, namespace: "multi-early" });
    const proxy = await startRegistryProxy(registry.host);
    try {
      const last = image.layers.at(-1)!;
      proxy.stall(last.digest, 0); // the last layer's body never comes
      const pulling = pull(client, `${proxy.host}/library/early:latest`, { plainHttp: true });
      pulling.catch(() => undefined);
      const chain = chainIds(image.diffIds);
      const committed = async (chainId: string) => {
        try {
          return (await client.snapshotter().stat(client.context(), chainId)).kind === "committed";
        } catch {
          return false;
        }
      };
      // Every layer but the held one is applied meanwhile; fetching all before unpacking never gets here.
      await waitUntil(
        "the layers below the held one to be unpacked",
        async () => (await Promise.all(chain.slice(0, -1).map(committed))).every(Boolean),
        30_000,
      );
      expect(await committed(chain.at(-1)!)).toBe(false);
      await proxy.close(); // the held layer fails, and with it the pull, once its unpacks have stopped
      await expect(pulling).rejects.toThrow();
      expect(await committed(chain.at(-1)!)).toBe(false);
    } finally {
      await proxy.close();
      client.close();
    }
  });

  it("prepares a layer's snapshot once its parent is committed, before the layer has arrived, and removes it when the pull fails", async () => {
    const image = buildLargeImage({ layerBytes: [200_000, 200_000], filesPerLayer: 4 });
    await pushTestImage(image, { url: registry.url, repository: "library/prepared", tag: "latest" });
    const client = await Client.connect({ address: berthd.address, namespace: "multi-prepared" });
    const proxy = await startRegistryProxy(registry.host);
    const activeOnTopOf = async (parent: string) => {
      const snapshots: string[] = [];
      for await (const info of client.snapshotter().list(client.context(), [])) if (info.kind === "active" && info.parent === parent) snapshots.push(info.name);
      return snapshots;
    };
    try {
      const last = image.layers.at(-1)!;
      proxy.stall(last.digest, 0); // the last layer's body never comes
      const pulling = pull(client, `${proxy.host}/library/prepared:latest`, { plainHttp: true });
      pulling.catch(() => undefined);
      const parent = chainIds(image.diffIds).at(-2)!;
      // Waiting for the layer before preparing its snapshot never gets here.
      await waitUntil("the held layer's snapshot to be prepared", async () => (await activeOnTopOf(parent)).length === 1, 30_000);
      await proxy.close();
      await expect(pulling).rejects.toThrow();
      expect(await activeOnTopOf(parent)).toEqual([]);
    } finally {
      await proxy.close();
      client.close();
    }
  });

  it("opens every blob's ingest at once, the download limit holding back only the transfers", async () => {
    const image = buildLargeImage({ layerBytes: [200_000, 200_000], filesPerLayer: 4 });
    await pushTestImage(image, { url: registry.url, repository: "library/opened", tag: "latest" });
    const client = await Client.connect({ address: berthd.address, namespace: "multi-opened" });
    const proxy = await startRegistryProxy(registry.host);
    try {
      // The first layer (busybox's) another test stored; the second holds the only turn, its body never coming.
      const [, held, ...later] = image.layers;
      proxy.stall(held!.digest, 0);
      const pulling = pull(client, `${proxy.host}/library/opened:latest`, { plainHttp: true, concurrency: 1, unpack: false });
      pulling.catch(() => undefined);
      const ingests = async () => await client.content.listStatuses(client.context(), []);
      // Opening a writer only with its turn never gets here.
      await waitUntil(
        "the later layers' ingests to be open",
        async () => {
          const refs = (await ingests()).map((status) => status.ref);
          return later.every((layer) => refs.includes(refKey(layer)));
        },
        30_000,
      );
      for (const layer of later) expect((await ingests()).find((status) => status.ref === refKey(layer))?.offset).toBe(0);
      await proxy.close();
      await expect(pulling).rejects.toThrow();
    } finally {
      await proxy.close();
      client.close();
    }
  });
});
