import { fileURLToPath } from "node:url";
import { type RunningDaemon, type RunningRegistry, buildBusyboxImage, pushTestImage, runCommand, startBerthd, startRegistry, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));

describe("Berth's ctr images pull against berthd", () => {
  let registry: RunningRegistry;
  let berthd: RunningDaemon;
  const image = buildBusyboxImage();
  beforeAll(async () => {
    registry = await startRegistry();
    berthd = await startBerthd();
    await pushTestImage(image, { url: registry.url, repository: "library/busybox", tag: "1.35" });
  });
  afterAll(async () => {
    await berthd?.cleanup();
    await registry?.stop();
  });

  it("pulls and unpacks an image that stock ctr then sees complete and unpacked", async () => {
    const ref = `${registry.host}/library/busybox:1.35`;
    const pulled = await runCommand(process.execPath, [berthCtr, "--address", berthd.address, "images", "pull", "--plain-http", ref], { env: { PATH: process.env.PATH } });
    expect(pulled.stderr).toBe("");
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toContain(`${ref}: ${image.manifest.digest}\n`);
    const listed = await runCommand(process.execPath, [berthCtr, "--address", berthd.address, "images", "ls", "-q"], { env: { PATH: process.env.PATH } });
    expect(listed.stdout).toBe(`${ref}\n`);
    const berthChecked = await runCommand(process.execPath, [berthCtr, "--address", berthd.address, "images", "check"], { env: { PATH: process.env.PATH } });
    expect(berthChecked.stdout).toMatch(/complete \(2\/2\) .* true\t?\n$/);
    if (stockContainerdInstalled) {
      const checked = await runCommand(stockCtr!, ["--address", berthd.address, "images", "check"]);
      expect(checked.stdout).toMatch(/complete \(2\/2\) .* true\n$/);
      expect(berthChecked.stdout).toBe(checked.stdout);
    }
  });

  it("says which reference it cannot parse", async () => {
    const result = await runCommand(process.execPath, [berthCtr, "--address", berthd.address, "images", "pull", "busybox"], { env: { PATH: process.env.PATH } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ctr: .*busybox.*\n$/);
  });
});
