import { type RunningDaemon, runCommand, startBerthd, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe.skipIf(!stockContainerdInstalled)("containerd's Windows plugins in berthd on Linux", () => {
  let berthd: RunningDaemon;
  const ctr = async (...args: string[]) => {
    const result = await runCommand(stockCtr!, ["--address", berthd.address, ...args]);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  };

  beforeAll(async () => {
    berthd = await startBerthd();
  });
  afterAll(async () => {
    await berthd?.cleanup();
  });

  it("are registered and skip themselves, as stock ctr plugins ls shows", async () => {
    const rows = (await ctr("plugins", "ls"))
      .trim()
      .split("\n")
      .map((line) => line.trim().split(/\s+/));
    const row = (type: string, id: string) => rows.find(([t, i]) => t === type && i === id)?.slice(2);
    const arch = process.arch === "x64" ? "amd64" : process.arch;
    expect(row("io.containerd.snapshotter.v1", "windows")).toEqual([`windows/${arch}`, "skip"]);
    expect(row("io.containerd.differ.v1", "windows")).toEqual([`windows/${arch}`, "skip"]);
    expect(row("io.containerd.runtime.v2", "runhcs")).toEqual([`windows/${arch}`, "skip"]);
    // The Linux ones still serve.
    expect(row("io.containerd.differ.v1", "walking")).toEqual([`linux/${arch}`, "ok"]);
    expect(row("io.containerd.runtime.v2", "task")).toEqual([`linux/${arch}`, "ok"]);
  });

  it("say why in the plugin details", async () => {
    const details = await ctr("plugins", "ls", "-d", "id==windows");
    expect(details).toContain("windows plugins need a Windows host");
    expect(details).toContain("skip plugin");
  });
});
