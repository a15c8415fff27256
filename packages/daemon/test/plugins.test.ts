import { Client } from "@berth/client";
import { Daemon, type Plugin, SkipPlugin, builtinPlugins, createLogger, defaultConfig, orderPlugins } from "@berth/daemon";
import { testDirectory } from "@berth/testkit";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const plugin = (type: string, id: string, requires: string[] = [], init: Plugin["init"] = () => ({})): Plugin => ({ type, id, requires, init });

describe("plugin registry", () => {
  it("orders plugins after every plugin of each type they require, and '*' last", () => {
    const ordered = orderPlugins([
      plugin("t.grpc", "all", ["*"]),
      plugin("t.grpc", "svc", ["t.service"]),
      plugin("t.service", "one", ["t.metadata", "t.event"]),
      plugin("t.metadata", "lmdb"),
      plugin("t.event", "exchange"),
    ]);
    expect(ordered.map((p) => p.id)).toEqual(["lmdb", "exchange", "one", "svc", "all"]);
  });

  it("refuses a dependency cycle", () => {
    expect(() => orderPlugins([plugin("a", "1", ["b"]), plugin("b", "1", ["a"])])).toThrow(/cycle/);
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
