import { rmSync } from "node:fs";
import { join } from "node:path";
import { closePlugins, isSkipPlugin, loadPlugins, pluginType } from "@berth/plugin";
import { windowsDifferPlugin, windowsPluginPlatform, windowsSnapshotterPlugin } from "@berth/runtime-windows";
import { testDirectory } from "@berth/testkit";
import { afterAll, describe, expect, it } from "vitest";

const base = testDirectory("windows-plugins");

describe.skipIf(process.platform === "win32")("the Windows plugins, loaded without a daemon off Windows", () => {
  afterAll(() => {
    rmSync(base, { recursive: true, force: true });
  });

  it("skip themselves with windowsSupport's reason, asking their host for no more than a logger", async () => {
    const warnings: string[] = [];
    const metadata = { type: pluginType<{ content: unknown }>("io.containerd.metadata.v1"), id: "none", init: () => ({ content: {} }) };
    const outcomes = await loadPlugins([windowsSnapshotterPlugin, metadata, windowsDifferPlugin], {
      root: base,
      state: join(base, "state"),
      host: () => ({ logger: { warn: (_details: object, message: string) => warnings.push(message) } }),
    });
    await closePlugins(outcomes);
    const reason = `windows plugins need a Windows host (this is ${process.platform}): vmcompute.dll, bindfltapi.dll and NTFS: skip plugin`;
    expect(outcomes.map((o) => [o.plugin.id, o.error?.message])).toEqual([
      ["windows", reason],
      ["none", undefined],
      ["windows", reason],
    ]);
    expect(outcomes.every((o) => o.error === undefined || isSkipPlugin(o.error))).toBe(true);
    expect(windowsSnapshotterPlugin.platforms).toEqual([windowsPluginPlatform]);
    expect(windowsPluginPlatform.os).toBe("windows");
    expect(warnings).toEqual([]);
  });
});
