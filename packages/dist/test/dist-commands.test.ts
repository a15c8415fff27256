import { Client, chainIds, isUnpacked } from "@berth/client";
import { type RunningDaemon, type RunningRegistry, buildMultiLayerImage, pushTestImage, runCommand, startBerthd, startRegistry } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dist, distBin } from "./helpers.js";

const image = buildMultiLayerImage();

describe("dist fetch, fetch-object, rootfs unpack and images against berthd", () => {
  let registry: RunningRegistry;
  let berthd: RunningDaemon;
  let client: Client;
  let ref = "";
  beforeAll(async () => {
    [registry, berthd] = await Promise.all([startRegistry(), startBerthd({ logLevel: "info" })]);
    await pushTestImage(image, { url: registry.url, repository: "library/layers", tag: "2" });
    ref = `${registry.host}/library/layers:2`;
    client = await Client.connect({ address: berthd.address });
  });
  afterAll(async () => {
    client?.close();
    await berthd?.cleanup();
    await registry?.stop();
  });

  it("fetch records the image with every blob and unpacks nothing", async () => {
    const fetched = await dist(berthd.address, ["fetch", "--plain-http", ref]);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout).toMatch(new RegExp(`^layer-${image.layers[3]!.digest}: +done `, "m"));
    expect(fetched.stderr).toBe("");
    const checked = await dist(berthd.address, ["images", "check"]);
    expect(checked.stdout).toMatch(/complete \(5\/5\) .* false\n$/);
    expect(await isUnpacked(client, client.context(), await client.images.get(client.context(), ref), "overlayfs")).toBe(false);
  });

  it("rootfs unpack applies a manifest's layers and prints the chain ID", async () => {
    const unpacked = await dist(berthd.address, ["rootfs", "unpack", image.manifest.digest]);
    expect(unpacked.code, unpacked.stderr).toBe(0);
    const chainId = chainIds(image.diffIds).at(-1)!;
    expect(unpacked.stdout).toBe(`${chainId}\n`);
    expect(unpacked.stderr).toMatch(new RegExp(`^INFO\\[\\d{4}\\] unpacking layers from manifest ${image.manifest.digest}\\nINFO\\[\\d{4}\\] chain ID: ${chainId}\\n$`));
    expect((await dist(berthd.address, ["images", "check"])).stdout).toMatch(/complete \(5\/5\) .* true\n$/);
    const refused = await dist(berthd.address, ["rootfs", "unpack", "sha256:nope"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^dist: digest "sha256:nope": not a sha256 digest/m);
  });

  it("fetch-object writes a manifest or a blob, verified, to standard output without a daemon", async () => {
    const manifest = await runCommand(process.execPath, [distBin, "fetch-object", "--plain-http", ref], { env: { PATH: process.env.PATH } });
    expect(manifest.code, manifest.stderr).toBe(0);
    expect(manifest.stdout).toBe(Buffer.from(image.blobs.get(image.manifest.digest)!).toString());
    const config = await runCommand(process.execPath, [distBin, "fetch-object", "--plain-http", `${registry.host}/library/layers@${image.config.digest}`], { env: { PATH: process.env.PATH } });
    expect(config.code, config.stderr).toBe(0);
    expect(config.stdout).toBe(Buffer.from(image.blobs.get(image.config.digest)!).toString());
  });

  it("images ls shows the seed's columns and the full size; images rm removes", async () => {
    const listed = await dist(berthd.address, ["images", "ls"]);
    const size = [image.manifest, image.config, ...image.layers].reduce((sum, d) => sum + d.size, 0);
    expect(listed.stdout.split("\n")[1]).toMatch(new RegExp(`^\\S+ +${image.manifest.mediaType.replace(/[.+]/g, "\\$&")} +${image.manifest.digest} +${(size / 1024 ** 2).toFixed(1)} MiB *$`));
    const removed = await dist(berthd.address, ["images", "rm", ref]);
    expect(removed.stdout).toBe(`${ref}\n`);
    expect((await dist(berthd.address, ["images", "ls", "-q"])).stdout).toBe("");
  });
});
