import { readFileSync } from "node:fs";
import { Client, transferPull } from "@berth/client";
import { type RunningDaemon, type RunningRegistry, buildLargeImage, pushTestImage, startBerthd, startRegistry, waitUntil } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** The resident KB of a process's glibc main heap (`[heap]` in smaps): where freed buffers stay until trimmed. */
function mainHeapKb(pid: number): number {
  let inHeap = false;
  let kb = 0;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inHeap = line.endsWith("[heap]");
    else if (inHeap && line.startsWith("Rss:")) kb += Number.parseInt(line.slice(4), 10);
  }
  return kb;
}

describe("berthd's memory once a pull is over", () => {
  let registry: RunningRegistry;
  let berthd: RunningDaemon;
  const image = buildLargeImage({ layerBytes: [19.5e6, 19.5e6, 19.5e6], filesPerLayer: 20 });
  beforeAll(async () => {
    registry = await startRegistry();
    berthd = await startBerthd();
    await pushTestImage(image, { url: registry.url, repository: "heap/large", tag: "1" });
  });
  afterAll(async () => {
    await berthd?.cleanup();
    await registry?.stop();
  });

  it("gives back what the pull's buffers held once calls go quiet", async () => {
    const client = await Client.connect({ address: berthd.address, namespace: "heap" });
    try {
      await transferPull(client, `${registry.host}/heap/large:1`, { platforms: [], unpack: "", plainHttp: true });
      expect((await client.images.get(client.context(), `${registry.host}/heap/large:1`)).target.digest).toBe(image.manifest.digest);
    } finally {
      client.close();
    }
    // The pull went through ~60 MB of buffers; without a collection before the trim about 36 MB of
    // them stayed in glibc's heap for as long as the daemon had nothing to do.
    const pid = berthd.process.pid!;
    let heapKb = mainHeapKb(pid);
    await waitUntil("berthd's heap to shrink after the pull", async () => (heapKb = mainHeapKb(pid)) < 16 * 1024).catch((error: Error) => {
      throw new Error(`${error.message}: its [heap] still holds ${heapKb} KB`);
    });
  }, 120_000);
});
