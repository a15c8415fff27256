import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, chainIds, pull } from "@berth/client";
import { withMounts } from "@berth/mount";
import { type RunningDaemon, type RunningRegistry, buildMultiLayerImage, pushTestImage, startBerthd, startRegistry } from "@berth/testkit";
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
      await client.snapshotter().view(client.context(), "look", chain.at(-1)!);
      try {
        await withMounts(await client.snapshotter().mounts(client.context(), "look"), (root) => {
          expect(readFileSync(join(root, "etc/hostname"), "utf8")).toBe("layer-four\n");
          expect(existsSync(join(root, "tmp/remove-me"))).toBe(false);
          expect(readFileSync(join(root, "data/keep"), "utf8")).toBe("kept\n");
          expect(readFileSync(join(root, "data/new"), "utf8")).toBe("added in layer three\n");
        }, { tempDir: scratch });
      } finally {
        await client.snapshotter().remove(client.context(), "look");
      }
    } finally {
      client.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
