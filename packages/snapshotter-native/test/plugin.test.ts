import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { closePlugins, getPlugin, loadPlugins } from "@berth/plugin";
import { nativePlugin } from "@berth/snapshotter-native";
import { snapshotterPluginType } from "@berth/snapshots";
import { testDirectory } from "@berth/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

describe("nativePlugin, loaded without a daemon", () => {
  let base: string;
  beforeEach(() => {
    base = testDirectory("native-plugin");
  });
  afterEach(() => {
    rmSync(base, { recursive: true, force: true });
  });

  it("opens the snapshotter under its own root, or under root_path, and exports where", async () => {
    const outcomes = await loadPlugins([nativePlugin], { root: join(base, "root"), state: join(base, "state"), host: () => ({}) });
    try {
      expect(outcomes.map((o) => o.error)).toEqual([undefined]);
      const root = join(base, "root", "io.containerd.snapshotter.v1.native");
      expect(outcomes[0]!.exports).toEqual({ root });
      const snapshotter = getPlugin(outcomes, snapshotterPluginType, "native");
      const [mount] = await snapshotter.prepare({ namespace: "ignored" }, "active", "");
      expect(mount).toMatchObject({ type: "bind", options: ["rbind", "rw"] });
      expect(mount!.source.startsWith(join(root, "snapshots"))).toBe(true);
    } finally {
      await closePlugins(outcomes);
    }

    const elsewhere = join(base, "elsewhere");
    const moved = await loadPlugins([nativePlugin], {
      root: join(base, "root"),
      state: join(base, "state"),
      config: { "io.containerd.snapshotter.v1.native": { root_path: elsewhere } },
      host: () => ({}),
    });
    try {
      expect(moved[0]!.exports).toEqual({ root: elsewhere });
      expect(existsSync(join(elsewhere, "metadata.db"))).toBe(true);
    } finally {
      await closePlugins(moved);
    }
  });
});
