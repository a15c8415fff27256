// containerd's [proxy_plugins]: a snapshotter and a content store served by a separate process
// (serveSnapshotter / serveContentStore), used by berthd through stock ctr; a proxy that dies
// answers Unavailable, and is used again once it is back.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isKind } from "@berth/api";
import { Client } from "@berth/client";
import { parseConfig } from "@berth/daemon";
import {
  type CtrSession,
  type RunningDaemon,
  type RunningRegistry,
  type TestImage,
  buildMultiLayerImage,
  ctrSession,
  disposeTaskDaemon,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
  testDirectory,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProxyProcess, writeProxyScript } from "./proxy-process.js";

describe("[proxy_plugins] in the config", () => {
  const parsed = (entry: string) => () => parseConfig(`version = 2\n[proxy_plugins.mysnap]\n${entry}\n`, "config.toml");
  const invalid = (run: () => unknown, message: RegExp) => {
    let thrown: unknown;
    try {
      run();
    } catch (error) {
      thrown = error;
    }
    expect(isKind(thrown, "InvalidArgument"), String(thrown)).toBe(true);
    expect((thrown as Error).message).toMatch(message);
  };

  it("rejects an unknown type, a missing address and a bad platform, naming the field", () => {
    invalid(parsed(`type = "diff"\naddress = "/run/x.sock"`), /config\.toml: proxy_plugins\.mysnap\.type: unsupported proxy plugin type "diff"/);
    invalid(parsed(`type = "snapshot"`), /proxy_plugins\.mysnap\.address/);
    invalid(parsed(`type = "snapshot"\naddress = "/run/x.sock"\nplatform = "linux"`), /proxy_plugins\.mysnap\.platform/);
    invalid(
      () => parseConfig(`version = 2\n[proxy_plugins.a]\ntype = "content"\naddress = "/a"\n[proxy_plugins.b]\ntype = "content"\naddress = "/b"\n`),
      /only one content proxy/,
    );
  });
});

const berthCtr = fileURLToPath(new URL("../../ctr/bin/run.js", import.meta.url));

describe.skipIf(!stockContainerdInstalled)("proxy plugins served by another process", () => {
  const namespace = `berth-test-proxy-${process.pid}`;
  let base: string;
  let script: string;
  let registry: RunningRegistry;
  let image: string;
  let built: TestImage;

  beforeAll(async () => {
    base = testDirectory("proxy");
    script = writeProxyScript(base);
    registry = await startRegistry();
    built = buildMultiLayerImage();
    await pushTestImage(built, { url: registry.url, repository: "library/layers", tag: "latest" });
    image = `${registry.host}/library/layers:latest`;
  });

  afterAll(async () => {
    await registry?.stop();
    if (base !== undefined) rmSync(base, { recursive: true, force: true });
  });

  describe("a snapshotter", () => {
    let proxy: ProxyProcess;
    let berthd: RunningDaemon;
    let client: Client;
    let session: CtrSession;

    beforeAll(async () => {
      proxy = new ProxyProcess(script, "snapshot", join(base, "mysnap"), join(base, "mysnap.sock"));
      await proxy.start();
      berthd = await startBerthd({
        config: `version = 2\n[proxy_plugins]\n  [proxy_plugins.mysnap]\n    type = "snapshot"\n    address = ${JSON.stringify(proxy.address)}\n`,
      });
      client = await Client.connect({ address: berthd.address, namespace });
      session = ctrSession(berthd, namespace);
    });

    afterAll(async () => {
      client?.close();
      if (berthd !== undefined) {
        if (!proxy.running) await proxy.start().catch(() => undefined);
        await session.removeAll().catch(() => undefined);
        await disposeTaskDaemon(berthd, [namespace]);
      }
      await proxy?.stop();
    });

    it("is listed by stock ctr as a snapshotter with its address", async () => {
      const listed = await session.ctr("plugins", "ls", "id==mysnap");
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/^TYPE +ID +PLATFORMS +STATUS +\nio\.containerd\.snapshotter\.v1 +mysnap +linux\/\w+ +ok +\n$/);
      const [plugin] = await client.plugins(["id==mysnap"]);
      expect(plugin?.exports).toEqual({ address: proxy.address });
    });

    it("takes stock ctr's pull and run, its snapshots in the proxy's root", async () => {
      const pulled = await session.ctr("images", "pull", "--plain-http", "--snapshotter", "mysnap", image);
      expect(pulled.code, pulled.stderr).toBe(0);
      const listed = await session.ctr("snapshots", "--snapshotter", "mysnap", "ls");
      expect(listed.stdout.trim().split("\n"), "a committed snapshot per layer").toHaveLength(1 + built.layers.length);
      expect(readdirSync(join(proxy.root, "snapshots")), "the proxy holds them").toHaveLength(built.layers.length);

      const ran = await session.ctr("run", "--rm", "--snapshotter", "mysnap", ...session.runFlags, image, "files", "cat", "/data/keep", "/data/new");
      expect(ran).toMatchObject({ code: 0, stdout: "kept\nadded in layer three\n" });
      const ours = await runCommand(process.execPath, [
        berthCtr,
        ...session.args("run", "--rm", "--snapshotter", "mysnap", ...session.runFlags, image, "berth-ctr", "echo", "ours"),
      ]);
      expect(ours, ours.stderr).toMatchObject({ code: 0, stdout: "ours\n" });
    });

    it("answers Unavailable while the proxy is down, and works again once it is back", async () => {
      const snapshotter = client.snapshotter("mysnap");
      await proxy.kill();
      const failed = await snapshotter.prepare({ namespace }, "while-down", "").then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isKind(failed, "Unavailable"), String(failed)).toBe(true);
      const stock = await session.ctr("snapshots", "--snapshotter", "mysnap", "prepare", "stock-while-down");
      expect(stock.code).not.toBe(0);
      expect(stock.stderr).toMatch(/unavailable/i);

      await proxy.start();
      // Nothing of the failed prepare was kept: the same key prepares now.
      const mounts = await snapshotter.prepare({ namespace }, "while-down", "");
      expect(mounts[0]?.source.startsWith(join(proxy.root, "snapshots"))).toBe(true);
      await snapshotter.remove({ namespace }, "while-down");
      const ran = await session.ctr("run", "--rm", "--snapshotter", "mysnap", ...session.runFlags, image, "again", "echo", "back");
      expect(ran).toMatchObject({ code: 0, stdout: "back\n" });
    });
  });

  it("serves a stock containerd's [proxy_plugins] too", async () => {
    const proxy = new ProxyProcess(script, "snapshot", join(base, "stock-snap"), join(base, "stock-snap.sock"));
    await proxy.start();
    let stock: RunningDaemon | undefined;
    try {
      stock = await startStockContainerd({ extraConfig: `[proxy_plugins.mysnap]\n  type = "snapshot"\n  address = ${JSON.stringify(proxy.address)}` });
      const session = ctrSession(stock!, namespace);
      const pulled = await session.ctr("images", "pull", "--plain-http", "--snapshotter", "mysnap", image);
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(readdirSync(join(proxy.root, "snapshots"))).toHaveLength(built.layers.length);
      const ran = await session.ctr("run", "--rm", "--snapshotter", "mysnap", ...session.runFlags, image, "stock", "echo", "stock");
      expect(ran).toMatchObject({ code: 0, stdout: "stock\n" });
    } finally {
      if (stock !== undefined) await disposeTaskDaemon(stock, [namespace]);
      await proxy.stop();
    }
  });

  it("refuses a config whose proxy has an unknown type or a built-in plugin's name, naming it", async () => {
    await expect(startBerthd({ config: `version = 2\n[proxy_plugins.odd]\ntype = "snapshotter"\naddress = "/run/odd.sock"\n` })).rejects.toThrow(
      /proxy_plugins\.odd\.type: unsupported proxy plugin type "snapshotter"/,
    );
    await expect(startBerthd({ config: `version = 2\n[proxy_plugins.native]\ntype = "snapshot"\naddress = "/run/native.sock"\n` })).rejects.toThrow(
      /proxy_plugins\.native: plugin io\.containerd\.snapshotter\.v1\.native is built in/,
    );
  });

  it("starts before its proxies, and uses them once they serve", async () => {
    const snapshots = new ProxyProcess(script, "snapshot", join(base, "late-snap"), join(base, "late-snap.sock"));
    const store = new ProxyProcess(script, "content", join(base, "late-store"), join(base, "late-store.sock"));
    const config = [
      "version = 2",
      `[proxy_plugins.latesnap]\ntype = "io.containerd.snapshotter.v1"\naddress = ${JSON.stringify(snapshots.address)}`,
      `[proxy_plugins.latestore]\ntype = "io.containerd.content.v1"\naddress = ${JSON.stringify(store.address)}`,
    ].join("\n");
    const berthd = await startBerthd({ config: `${config}\n` });
    try {
      const session = ctrSession(berthd, namespace);
      const listed = await session.ctr("plugins", "ls", "id~=^late");
      expect(listed.stdout).toMatch(/\nio\.containerd\.snapshotter\.v1 +latesnap +linux\/\w+ +ok +\n/);
      expect(listed.stdout).toMatch(/\nio\.containerd\.content\.v1 +latestore +linux\/\w+ +ok +\n/);
      await snapshots.start();
      await store.start();
      const pulled = await session.ctr("images", "pull", "--plain-http", "--snapshotter", "latesnap", image);
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(readdirSync(join(store.root, "blobs", "sha256")).sort()).toEqual(
        [built.manifest, built.config, ...built.layers].map((d) => d.digest.slice("sha256:".length)).sort(),
      );
      expect(readdirSync(join(snapshots.root, "snapshots"))).toHaveLength(built.layers.length);
    } finally {
      await berthd.cleanup();
      await snapshots.stop();
      await store.stop();
    }
  });

  describe("a content store", () => {
    let proxy: ProxyProcess;
    let berthd: RunningDaemon;
    let client: Client;
    let session: CtrSession;

    beforeAll(async () => {
      proxy = new ProxyProcess(script, "content", join(base, "mystore"), join(base, "mystore.sock"));
      await proxy.start();
      berthd = await startBerthd({ config: `version = 2\n[proxy_plugins.mystore]\ntype = "content"\naddress = ${JSON.stringify(proxy.address)}\n` });
      client = await Client.connect({ address: berthd.address, namespace });
      session = ctrSession(berthd, namespace);
    });

    afterAll(async () => {
      client?.close();
      if (berthd !== undefined) await disposeTaskDaemon(berthd, [namespace]);
      await proxy?.stop();
    });

    it("replaces the local content store", async () => {
      const listed = await session.ctr("plugins", "ls", "type==io.containerd.content.v1");
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/\nio\.containerd\.content\.v1 +content +- +skip +\n/);
      expect(listed.stdout).toMatch(/\nio\.containerd\.content\.v1 +mystore +linux\/\w+ +ok +\n/);
    });

    it("takes stock ctr's pull, the blobs landing in the proxy's root", async () => {
      const pulled = await session.ctr("images", "pull", "--plain-http", "--snapshotter", "native", image);
      expect(pulled.code, pulled.stderr).toBe(0);
      for (const { digest } of [built.manifest, built.config, ...built.layers]) {
        expect(existsSync(join(proxy.root, "blobs", "sha256", digest.slice("sha256:".length))), digest).toBe(true);
      }
      expect(existsSync(join(berthd.root, "io.containerd.content.v1.content", "blobs")), "nothing in berthd's own store").toBe(false);
    });

    it("answers Unavailable while the proxy is down, and works again once it is back", async () => {
      const digest = built.config.digest;
      await proxy.kill();
      const failed = await client.content
        .read({ namespace }, digest)
        [Symbol.asyncIterator]()
        .next()
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(isKind(failed, "Unavailable"), String(failed)).toBe(true);
      const stock = await session.ctr("content", "get", digest);
      expect(stock.code).not.toBe(0);

      await proxy.start();
      const again = await session.ctr("content", "get", digest);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe(Buffer.from(built.blobs.get(digest)!).toString());
    });
  });
});
