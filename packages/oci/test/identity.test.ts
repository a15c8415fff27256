import { chainId, chainIds } from "@berth/oci";
import { buildMultiLayerImage, pushTestImage, runCommand, startRegistry, startStockContainerd, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { describe, expect, it } from "vitest";

/** sha256 by coreutils' sha256sum: an implementation independent of node:crypto. */
async function sha256sum(text: string): Promise<string> {
  const result = await runCommand("sh", ["-c", 'printf %s "$1" | sha256sum', "sh", text]);
  return `sha256:${result.stdout.slice(0, 64)}`;
}

describe("chain IDs", () => {
  const image = buildMultiLayerImage();

  it("is the diff ID for one layer, and nothing for none", () => {
    expect(chainIds([])).toEqual([]);
    expect(chainId([])).toBe("");
    expect(chainIds([image.diffIds[0]!])).toEqual([image.diffIds[0]]);
    expect(chainId([image.diffIds[0]!])).toBe(image.diffIds[0]);
  });

  it("hashes '<parent chain ID> <diff ID>' for each next layer (checked with sha256sum)", async () => {
    const expected = [image.diffIds[0]!];
    for (const diffId of image.diffIds.slice(1)) expected.push(await sha256sum(`${expected.at(-1)} ${diffId}`));
    expect(image.diffIds.length).toBeGreaterThan(2);
    expect(chainIds(image.diffIds)).toEqual(expected);
    expect(chainId(image.diffIds)).toBe(expected.at(-1));
  });

  it.skipIf(!stockContainerdInstalled)("names the snapshots stock containerd unpacks an image into", async () => {
    const registry = await startRegistry();
    const containerd = await startStockContainerd();
    try {
      await pushTestImage(image, { url: registry.url, repository: "library/layers", tag: "1" });
      const ctr = (...args: string[]) => runCommand(stockCtr!, ["--address", containerd!.address, ...args]);
      const pulled = await ctr("images", "pull", "--plain-http", "--print-chainid", `${registry.host}/library/layers:1`);
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(pulled.stdout).toContain(`image chain ID: ${chainId(image.diffIds)}\n`);
      const snapshots = await ctr("snapshots", "ls");
      const names = snapshots.stdout
        .split("\n")
        .slice(1)
        .filter(Boolean)
        .map((line) => line.split(/\s+/)[0]);
      expect(names.sort()).toEqual([...chainIds(image.diffIds)].sort());
    } finally {
      await containerd?.cleanup();
      await registry.stop();
    }
  });
});
