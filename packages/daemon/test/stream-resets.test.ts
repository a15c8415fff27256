import { Client } from "@berth/client";
import { digestOf, writeBlob } from "@berth/content";
import { type RunningDaemon, runCommand, startBerthd, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe.skipIf(!stockContainerdInstalled)("stock ctr listing a thousand images", () => {
  let berthd: RunningDaemon;
  beforeAll(async () => {
    berthd = await startBerthd({ logLevel: "info" });
  });
  afterAll(async () => {
    await berthd?.cleanup();
  });

  // ctr cancels a content read per image; Node's HTTP/2 rapid-reset guard used to drop its connection.
  it("reads every image's manifest and config on one connection", async () => {
    const client = await Client.connect({ address: berthd.address });
    try {
      const context = client.context();
      const put = async (data: Buffer, labels: Record<string, string> = {}) =>
        (await writeBlob(client.content, context, `r-${digestOf(data)}`, data, { labels })).digest;
      const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
      const configDigest = await put(config, { "containerd.io/gc.root": "test" });
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
          layers: [],
        }),
      );
      const target = {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: await put(manifest, { "containerd.io/gc.root": "test" }),
        size: manifest.length,
        annotations: {},
      };
      for (let i = 0; i < 1000; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => client.images.create(context, { name: `example.com/many:${i + j}`, labels: {}, target })));
      }
    } finally {
      client.close();
    }
    const listed = await runCommand(stockCtr!, ["--address", berthd.address, "images", "ls"], { timeoutMs: 60_000 });
    expect(listed.stderr).toBe("");
    const rows = listed.stdout.trim().split("\n").slice(1);
    expect(rows).toHaveLength(1000);
    expect(rows.every((row) => row.includes(" linux/amd64 "))).toBe(true);
  });
});
