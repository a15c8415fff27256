import { Client } from "@berth/client";
import { Daemon, type Plugin, builtinPlugins, builtinPluginsOf, createLogger, defaultConfig } from "@berth/daemon";
import { SkipPlugin, pluginKey } from "@berth/plugin";
import { testDirectory } from "@berth/testkit";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const plugin = (type: string, id: string, requires: string[] = [], init: Plugin["init"] = () => ({})): Plugin => ({ type, id, requires, init });

describe("plugin registry", () => {
  it("lists each platform's built-ins (containerd's builtins_<os>), with containerd's Windows ones skipping on Linux", () => {
    const keys = (platform: NodeJS.Platform) => builtinPluginsOf(platform).map(pluginKey);
    const linuxOnly = [
      "snapshotter.v1.overlayfs",
      "snapshotter.v1.btrfs",
      "snapshotter.v1.native",
      "differ.v1.walking",
      "monitor.v1.cgroups",
      "runtime.v1.linux",
      "runtime.v2.task",
    ];
    const windows = ["snapshotter.v1.windows", "differ.v1.windows", "runtime.v2.runhcs"];
    const named = (names: string[]) => names.map((name) => `io.containerd.${name}`);
    expect(keys("linux")).toEqual(expect.arrayContaining(named([...linuxOnly, ...windows])));
    // Windows has the same plugins in the same order, less the Linux ones.
    expect(keys("win32")).toEqual(keys("linux").filter((key) => !named(linuxOnly).includes(key)));
    expect(keys("win32")).toEqual(expect.arrayContaining(named(windows)));
  });

  it("reports a plugin that skips itself as skip, one that fails as error, and serves the rest", async () => {
    const base = testDirectory("plugins");
    const config = defaultConfig();
    config.root = join(base, "root");
    config.state = join(base, "state");
    config.grpc.address = join(base, "berthd.sock");
    config.disabled_plugins = ["io.containerd.grpc.v1.version"];
    const extra: Plugin[] = [
      plugin("io.containerd.snapshotter.v1", "fakefs", [], () => {
        throw new SkipPlugin("path /x must be a btrfs filesystem to be used with the btrfs snapshotter");
      }),
      plugin("io.containerd.internal.v1", "broken", [], () => {
        throw new Error("cannot open device");
      }),
    ];
    const daemon = await Daemon.start(config, [...builtinPlugins(), ...extra], createLogger("fatal"));
    try {
      const client = await Client.connect({ address: config.grpc.address });
      const plugins = await client.plugins();
      const status = (id: string) => plugins.find((p) => p.id === id)?.initErr?.message ?? "ok";
      expect(status("fakefs")).toBe("path /x must be a btrfs filesystem to be used with the btrfs snapshotter: skip plugin");
      expect(status("broken")).toBe("cannot open device");
      expect(status("namespaces")).toBe("ok");
      expect(plugins.map((p) => p.id)).not.toContain("version");
      expect(plugins.find((p) => p.id === "lmdb")?.exports).toEqual({ root: join(config.root, "io.containerd.metadata.v1.lmdb") });
      await expect(client.version()).rejects.toMatchObject({ kind: "NotImplemented" });
      client.close();
    } finally {
      await daemon.stop();
      rmSync(base, { recursive: true, force: true });
    }
  });
});
