import { runCommand, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InspectableBerthd, startInspectableBerthd } from "./held-modules.js";

describe.skipIf(!stockContainerdInstalled)("containerd's Windows plugins in berthd on Linux", () => {
  let berthd: InspectableBerthd;
  const ctr = async (...args: string[]) => {
    const result = await runCommand(stockCtr!, ["--address", berthd.daemon.address, ...args]);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  };

  beforeAll(async () => {
    berthd = await startInspectableBerthd();
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

  it("are registered without loading the package's layer, shim or win32 code", async () => {
    await ctr("plugins", "ls");
    const modules = await berthd.modules();
    // What the daemon holds is visible: its Linux runtime, and the Windows registrations themselves.
    expect(modules.some((url) => url.includes("/runtime-linux/dist/"))).toBe(true);
    expect(modules.some((url) => url.endsWith("/runtime-windows/dist/plugins.js"))).toBe(true);
    expect(modules.filter((url) => /\/runtime-windows\/dist\/(index\.js|layers\/|shim\/|win32)/.test(url))).toEqual([]);
  });
});
