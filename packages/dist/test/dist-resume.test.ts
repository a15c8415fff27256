import { isKind } from "@berth/api";
import { Client, refKey } from "@berth/client";
import {
  type RunningDaemon,
  type RunningRegistry,
  type RunningRegistryProxy,
  buildBusyboxImage,
  buildLargeImage,
  pushTestImage,
  spawnTracked,
  startBerthd,
  startRegistry,
  startRegistryProxy,
  startStockContainerd,
  stockContainerdInstalled,
  stopProcess,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dist, distBin, hasBlob } from "./helpers.js";

const daemons: { name: string; start: () => Promise<RunningDaemon | undefined> }[] = [
  { name: "berthd", start: () => startBerthd({ logLevel: "info" }) },
  ...(stockContainerdInstalled ? [{ name: "stock containerd", start: startStockContainerd }] : []),
];

const mib = 1 << 20;
/** busybox, two small layers and one of 24 MiB (random bytes, so gzip cannot shrink it). */
const large = buildLargeImage({ layerBytes: [256 * 1024, 512 * 1024, 24 * mib] });
const bigLayer = large.layers.at(-1)!;
/** A layer no other image of this file shares (zstd), so that it must be fetched. */
const busybox = buildBusyboxImage({ compression: "zstd" });
/** Another layer of its own (uncompressed), for a resume from wrong bytes. */
const plain = buildBusyboxImage({ compression: "none" });

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let registry: RunningRegistry;
beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(large, { url: registry.url, repository: "library/large", tag: "1" });
  await pushTestImage(busybox, { url: registry.url, repository: "library/busybox", tag: "1" });
  await pushTestImage(plain, { url: registry.url, repository: "library/plain", tag: "1" });
});
afterAll(async () => {
  await registry?.stop();
});

for (const { name, start } of daemons) {
  describe(`dist pull against ${name}: interrupted and wrong bytes`, () => {
    let daemon: RunningDaemon;
    let proxy: RunningRegistryProxy;
    let corrupting: RunningRegistryProxy;
    let client: Client;
    beforeAll(async () => {
      daemon = (await start())!;
      proxy = await startRegistryProxy(registry.host);
      corrupting = await startRegistryProxy(registry.host, { corrupt: busybox.layers[0]!.digest });
      client = await Client.connect({ address: daemon.address });
    });
    afterAll(async () => {
      client?.close();
      await proxy?.close();
      await corrupting?.close();
      await daemon?.cleanup();
    });

    it("resumes a pull killed mid-layer from where the ingest stopped, fetching no finished layer again", async () => {
      const ref = `${proxy.host}/library/large:1`;
      const stallAt = 10 * mib + 12_345;
      proxy.stall(bigLayer.digest, stallAt);
      const first = spawnTracked(process.execPath, [distBin, "--address", daemon.address, "pull", "--plain-http", ref], { ...process.env, PATH: process.env.PATH });
      try {
        // Every other blob committed, the big one's ingest holding all the proxy let through.
        const others = [large.config, ...large.layers.slice(0, -1)];
        await waitFor("the small blobs", async () => ((await Promise.all(others.map((d) => hasBlob(client, d.digest)))).every(Boolean) ? true : undefined));
        await waitFor("the big layer's ingest", async () => {
          const statuses = await client.content.listStatuses(client.context(), []);
          const ingest = statuses.find((s) => s.ref === refKey(bigLayer));
          return ingest !== undefined && ingest.offset >= 8 * mib ? ingest : undefined;
        });
      } finally {
        first.kill("SIGKILL");
        await stopProcess(first);
      }
      const ingest = (await client.content.listStatuses(client.context(), [])).find((s) => s.ref === refKey(bigLayer))!;
      expect(ingest.offset).toBeGreaterThan(0);
      expect(ingest.offset).toBeLessThanOrEqual(stallAt);
      expect(await hasBlob(client, bigLayer.digest)).toBe(false);

      proxy.stall(bigLayer.digest, undefined);
      const before = proxy.requests.length;
      const second = await dist(daemon.address, ["pull", "--plain-http", ref]);
      expect(second.code, second.stderr).toBe(0);
      const again = proxy.requests.slice(before).filter((r) => r.method === "GET" && r.url.includes("/blobs/"));
      // Only the interrupted layer was fetched again, and only its missing bytes.
      expect(again.map((r) => r.url.split("/").at(-1))).toEqual([bigLayer.digest]);
      expect(again[0]!.range).toBe(`bytes=${ingest.offset}-`);
      expect(again[0]!.status).toBe(206);
      expect(again[0]!.bytes).toBe(bigLayer.size - ingest.offset);
      expect(second.stdout).toMatch(new RegExp(`^layer-${large.layers[1]!.digest}: +exists `, "m"));
      expect(second.stderr).toContain(`Unpacked chain id: `);
      expect(await hasBlob(client, bigLayer.digest)).toBe(true);
      expect((await client.content.listStatuses(client.context(), [])).filter((s) => s.ref === refKey(bigLayer))).toEqual([]);
    });

    it("detects a registry that sends wrong bytes for a digest, and stores nothing of them", async () => {
      const ref = `${corrupting.host}/library/busybox:1`;
      const layer = busybox.layers[0]!;
      const result = await dist(daemon.address, ["pull", "--plain-http", ref]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^dist: .*${layer.digest}.*digest mismatch`, "m"));
      expect(corrupting.blobGets(layer.digest).length).toBeGreaterThan(0);
      expect(await hasBlob(client, layer.digest)).toBe(false);
      expect((await client.content.listStatuses(client.context(), [])).filter((s) => s.ref.includes(layer.digest))).toEqual([]);
      await expect(client.images.get(client.context(), ref)).rejects.toSatisfy((error) => isKind(error, "NotFound"));

      // The same image through an honest proxy is fine.
      const direct = await dist(daemon.address, ["pull", "--plain-http", `${registry.host}/library/busybox:1`]);
      expect(direct.code, direct.stderr).toBe(0);
      expect(await hasBlob(client, layer.digest)).toBe(true);
    });

    it("starts a layer over, verified, when the bytes an interrupted pull left are wrong", async () => {
      const layer = plain.layers[0]!;
      const writer = await client.content.writer(client.context(), { ref: refKey(layer), total: layer.size, expected: layer.digest });
      await writer.write(Buffer.alloc(4096, 0x5a));
      await writer.close();
      const before = proxy.requests.length;
      const result = await dist(daemon.address, ["pull", "--plain-http", `${proxy.host}/library/plain:1`]);
      expect(result.code, result.stderr).toBe(0);
      const gets = proxy.requests.slice(before).filter((r) => r.method === "GET" && r.url.endsWith(layer.digest));
      expect(gets.map((r) => r.range)).toEqual(["bytes=4096-", undefined]);
      expect(gets[1]!.bytes).toBe(layer.size);
      expect(await hasBlob(client, layer.digest)).toBe(true);
    });
  });
}
