import {
  type RunningDaemon,
  type RunningRegistry,
  type RunningRegistryProxy,
  buildMultiLayerImage,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  startRegistryProxy,
  startStockContainerd,
  stockContainerdInstalled,
  stockCtr,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { berthCtr, dist } from "./helpers.js";

const image = buildMultiLayerImage();
const blobs = [image.config, ...image.layers];

/** The digest a registry serves for a manifest reference. */
async function registryDigest(url: string, repository: string, tag: string): Promise<string | null> {
  const response = await fetch(`${url}/v2/${repository}/manifests/${tag}`, { method: "HEAD", headers: { accept: image.manifest.mediaType } });
  return response.status === 200 ? response.headers.get("docker-content-digest") : null;
}

describe("dist push", () => {
  let registry: RunningRegistry;
  let other: RunningRegistry;
  let proxy: RunningRegistryProxy;
  let berthd: RunningDaemon;
  beforeAll(async () => {
    [registry, other, berthd] = await Promise.all([startRegistry(), startRegistry(), startBerthd({ logLevel: "info" })]);
    proxy = await startRegistryProxy(registry.host);
    await pushTestImage(image, { url: registry.url, repository: "library/source", tag: "1" });
    const pulled = await dist(berthd.address, ["pull", "--plain-http", `${proxy.host}/library/source:1`]);
    expect(pulled.code, pulled.stderr).toBe(0);
  });
  afterAll(async () => {
    await proxy?.close();
    await berthd?.cleanup();
    await Promise.all([registry?.stop(), other?.stop()]);
  });

  it("pushes a pulled image to another repository by cross-repository mount, digest unchanged", async () => {
    const before = proxy.requests.length;
    const pushed = await dist(berthd.address, ["push", "--plain-http", `${proxy.host}/team/copy:1`, `${proxy.host}/library/source:1`]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const requests = proxy.requests.slice(before);
    for (const blob of blobs) {
      const mount = requests.find((r) => r.method === "POST" && r.url.startsWith("/v2/team/copy/blobs/uploads/") && r.url.includes(`mount=${encodeURIComponent(blob.digest)}`));
      expect(mount?.url, blob.digest).toContain("from=library%2Fsource");
      expect(mount?.status).toBe(201);
      expect(pushed.stdout).toMatch(new RegExp(`^[a-z]+-${blob.digest}: +mounted `, "m"));
    }
    // No blob bytes went up: only the manifest was PUT.
    expect(requests.filter((r) => r.method === "PUT").map((r) => r.url)).toEqual(["/v2/team/copy/manifests/1"]);
    expect(pushed.stdout).toMatch(new RegExp(`^manifest-${image.manifest.digest}: +done `, "m"));
    expect(await registryDigest(registry.url, "team/copy", "1")).toBe(image.manifest.digest);

    const back = await dist(berthd.address, ["pull", "--plain-http", `${proxy.host}/team/copy:1`], "roundtrip");
    expect(back.code, back.stderr).toBe(0);
    expect((await dist(berthd.address, ["images", "ls"], "roundtrip")).stdout).toContain(image.manifest.digest);
  });

  it("uploads every blob to a registry that has none, and stock ctr pulls the result", async () => {
    const ref = `${other.host}/elsewhere/copy:2`;
    const pushed = await dist(berthd.address, ["push", "--plain-http", ref, `${proxy.host}/library/source:1`]);
    expect(pushed.code, pushed.stderr).toBe(0);
    for (const blob of blobs) expect(pushed.stdout).toMatch(new RegExp(`^[a-z]+-${blob.digest}: +done `, "m"));
    expect(await registryDigest(other.url, "elsewhere/copy", "2")).toBe(image.manifest.digest);
    // Pushing again finds everything there.
    const again = await dist(berthd.address, ["push", "--plain-http", ref, `${proxy.host}/library/source:1`]);
    for (const blob of blobs) expect(again.stdout).toMatch(new RegExp(`^[a-z]+-${blob.digest}: +exists `, "m"));

    if (stockContainerdInstalled) {
      const containerd = (await startStockContainerd())!;
      try {
        const pulled = await runCommand(stockCtr!, ["--address", containerd.address, "images", "pull", "--plain-http", ref], { timeoutMs: 60_000 });
        expect(pulled.code, pulled.stderr).toBe(0);
        expect((await runCommand(stockCtr!, ["--address", containerd.address, "images", "ls", "-q"])).stdout).toBe(`${ref}\n`);
        expect((await runCommand(stockCtr!, ["--address", containerd.address, "images", "check"])).stdout).toContain(image.manifest.digest);
      } finally {
        await containerd.cleanup();
      }
    }
  });

  it("Berth's ctr images push prints stock ctr's words: every finished blob is done", async () => {
    const pushed = await berthCtr(berthd.address, ["images", "push", "--plain-http", `${proxy.host}/team/ctr:1`, `${proxy.host}/library/source:1`]);
    expect(pushed.code, pushed.stderr).toBe(0);
    for (const blob of [...blobs, image.manifest]) expect(pushed.stdout).toMatch(new RegExp(`^[a-z]+-${blob.digest}: +done `, "m"));
    expect(pushed.stdout).not.toMatch(/resolved|mounted/);
    expect(await registryDigest(registry.url, "team/ctr", "1")).toBe(image.manifest.digest);
  });

  it("refuses to push an image whose content is not all in the store, sending nothing", async () => {
    const before = proxy.requests.length;
    const result = await dist(berthd.address, ["push", "--plain-http", `${proxy.host}/team/absent:1`, "no-such-image"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^dist: .*no-such-image.*not found/m);
    expect(proxy.requests.length).toBe(before);
  });
});
