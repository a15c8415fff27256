import { type RunningDaemon, type RunningRegistry, buildBusyboxImage, buildMultiPlatformIndex, pushTestImage, runCommand, startBerthd, startRegistry, startStockContainerd, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dist } from "./helpers.js";

const daemons: { name: string; start: () => Promise<RunningDaemon | undefined> }[] = [
  { name: "berthd", start: () => startBerthd({ logLevel: "info" }) },
  { name: "stock containerd", start: startStockContainerd },
];

for (const { name, start } of daemons) {
  describe.skipIf(!stockContainerdInstalled)(`dist push-object, images tag and images convert against ${name}, beside stock ctr`, () => {
    let registry: RunningRegistry;
    let daemon: RunningDaemon;
    const busybox = buildBusyboxImage();
    const multi = buildMultiPlatformIndex();
    let ref = "";
    let multiRef = "";
    // dist works in namespace "dist", stock ctr in "stock".
    const both = async (distArgs: string[], ctrArgs: string[]) => ({
      dist: await dist(daemon.address, distArgs, "dist"),
      stock: await runCommand(stockCtr!, ["--address", daemon.address, "-n", "stock", ...ctrArgs]),
    });
    beforeAll(async () => {
      registry = await startRegistry();
      daemon = (await start())!;
      ref = `${registry.host}/library/busybox:1.35`;
      multiRef = `${registry.host}/library/multi:1`;
      await pushTestImage(busybox, { url: registry.url, repository: "library/busybox", tag: "1.35" });
      await pushTestImage(multi, { url: registry.url, repository: "library/multi", tag: "1" });
      for (const image of [ref, multiRef]) {
        const fetched = await both(["fetch", "--plain-http", image], ["content", "fetch", "--plain-http", image]);
        expect([fetched.dist.code, fetched.stock.code]).toEqual([0, 0]);
      }
    });
    afterAll(async () => {
      await daemon?.cleanup();
      await registry?.stop();
    });

    it("push-object pushes one blob as ctr content push-object", async () => {
      const layer = busybox.layers[0]!;
      const pushed = await both(["push-object", "--plain-http", `${registry.host}/objects/dist:1`, layer.digest, layer.mediaType], ["content", "push-object", "--plain-http", `${registry.host}/objects/stock:1`, layer.digest, layer.mediaType]);
      expect([pushed.dist.stdout, pushed.dist.code]).toEqual([pushed.stock.stdout, 0]);
      expect(pushed.dist.stdout).toBe(`Pushed ${layer.digest} ${layer.mediaType}\n`);
      const blob = await fetch(`${registry.url}/v2/objects/dist/blobs/${layer.digest}`);
      expect(Buffer.from(await blob.arrayBuffer()).equals(Buffer.from(busybox.blobs.get(layer.digest)!))).toBe(true);
      const again = await both(["push-object", "--plain-http", `${registry.host}/objects/dist:1`, layer.digest, layer.mediaType], ["content", "push-object", "--plain-http", `${registry.host}/objects/stock:1`, layer.digest, layer.mediaType]);
      expect([again.dist.stderr, again.dist.code]).toEqual([again.stock.stderr.replace(/^ctr:/, "dist:"), 1]);
    });

    it("images tag and images convert make what stock ctr makes", async () => {
      for (const args of [["tag", ref, "example.com/t:1", "example.com/t:2"], ["tag", ref, "example.com/t:1"], ["tag", "--force", ref, "example.com/t:1"], ["convert", "--uncompress", "--oci", ref, "example.com/c:u"], ["convert", "--platform", "linux/amd64", multiRef, "example.com/c:m"]]) {
        const ran = await both(["images", ...args], ["images", ...args]);
        expect([ran.dist.stdout, ran.dist.stderr.replace(/^dist:/, "ctr:"), ran.dist.code]).toEqual([ran.stock.stdout, ran.stock.stderr, ran.stock.code]);
      }
      const listed = { dist: await dist(daemon.address, ["images", "ls", "-q"], "dist"), stock: await runCommand(stockCtr!, ["--address", daemon.address, "-n", "stock", "images", "ls", "-q"]) };
      expect(listed.dist.stdout).toBe(listed.stock.stdout);
      expect(listed.dist.stdout).toContain("example.com/c:m\n");
      const digests = await both(["images", "ls"], ["images", "ls"]);
      const targetOf = (text: string, name: string) => text.split("\n").find((line) => line.startsWith(`${name} `))?.match(/sha256:[0-9a-f]{64}/)?.[0];
      expect(targetOf(digests.dist.stdout, "example.com/c:m")).toBe(targetOf(digests.stock.stdout, "example.com/c:m"));
    });
  });
}
