import { rmSync } from "node:fs";
import { join } from "node:path";
import { closePlugins, getPlugin, loadPlugins } from "@berth/plugin";
import { OverlaySnapshotter, overlayPlugin, overlaySupported } from "@berth/snapshotter-overlay";
import { snapshotterPluginType } from "@berth/snapshots";
import { testDirectory } from "@berth/testkit";
import { afterAll, describe, expect, it } from "vitest";

const base = testDirectory("overlay-plugin");
const { supported } = await overlaySupported(base);

describe("overlayPlugin, loaded without a daemon", () => {
  afterAll(() => {
    rmSync(base, { recursive: true, force: true });
  });

  it.skipIf(!supported)("opens the overlayfs snapshotter under its own root and exports it", async () => {
    const outcomes = await loadPlugins([overlayPlugin], { root: join(base, "root"), state: join(base, "state"), host: () => ({}) });
    try {
      expect(outcomes[0]!.error).toBeUndefined();
      expect(outcomes[0]!.exports).toEqual({ root: join(base, "root", "io.containerd.snapshotter.v1.overlayfs") });
      const snapshotter = getPlugin(outcomes, snapshotterPluginType, "overlayfs");
      expect(snapshotter).toBeInstanceOf(OverlaySnapshotter);
      expect(await snapshotter.prepare({ namespace: "ignored" }, "active", "")).toMatchObject([{ type: "bind", options: ["rw", "rbind"] }]);
    } finally {
      await closePlugins(outcomes);
    }
  });
});
