import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, chainIds, pull } from "@berth/client";
import { withMounts } from "@berth/mount";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  buildMultiLayerImage,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  stockContainerdInstalled,
  stockCtr,
} from "@berth/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

describe("namespaces share the snapshots Berth verified", () => {
  let registry: RunningRegistry;
  let berthd: RunningDaemon;
  let scratch: string;
  const clients: Client[] = [];
  const multi = buildMultiLayerImage();
  const busybox = buildBusyboxImage();
  const multiRef = () => `${registry.host}/library/multi:latest`;
  const busyboxRef = () => `${registry.host}/library/busybox:latest`;
  const backendSnapshots = () => readdirSync(join(berthd.root, "io.containerd.snapshotter.v1.overlayfs", "snapshots")).length;
  const connect = async (namespace: string) => {
    const client = await Client.connect({ address: berthd.address, namespace });
    clients.push(client);
    return client;
  };
  /** The files under `name`'s root in `client`'s namespace, read through a view. */
  const readTree = async (client: Client, name: string, read: (root: string) => void) => {
    const view = `look-${Math.random().toString(36).slice(2)}`;
    await client.snapshotter().view(client.context(), view, name, { "containerd.io/gc.root": "test" });
    try {
      await withMounts(await client.snapshotter().mounts(client.context(), view), read, { tempDir: scratch });
    } finally {
      await client.snapshotter().remove(client.context(), view);
    }
  };

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "berth-test-sharing-"));
    registry = await startRegistry();
    berthd = await startBerthd();
    await pushTestImage(multi, { url: registry.url, repository: "library/multi", tag: "latest" });
    await pushTestImage(busybox, { url: registry.url, repository: "library/busybox", tag: "latest" });
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await berthd?.cleanup();
    await registry?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("a pull into a second namespace applies no layer, and GC keeps what another namespace names", async () => {
    const first = await connect("first");
    await pull(first, multiRef(), { plainHttp: true });
    const before = backendSnapshots();
    expect(before).toBe(multi.layers.length);

    const second = await connect("second");
    const commits: string[] = [];
    const stop = new AbortController();
    const subscription = second.events.subscribe(["namespace==second,topic~=/snapshot/"], stop.signal);
    const collecting = (async () => {
      for await (const envelope of subscription) commits.push(envelope.topic);
    })();
    await pull(second, multiRef(), { plainHttp: true });
    expect(backendSnapshots()).toBe(before);
    const chain = chainIds(multi.diffIds);
    for (const [i, chainId] of chain.entries()) {
      expect(await second.snapshotter().stat(second.context(), chainId)).toMatchObject({ kind: "committed", parent: i === 0 ? "" : chain[i - 1] });
    }
    await readTree(second, chain.at(-1)!, (root) => {
      expect(readFileSync(join(root, "etc/hostname"), "utf8")).toBe("layer-four\n");
      expect(existsSync(join(root, "tmp/remove-me"))).toBe(false);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop.abort();
    await collecting.catch(() => undefined);
    expect(commits.filter((t) => t === "/snapshot/commit")).toEqual([]);

    // Gone from the first namespace, still whole in the second.
    await first.images.delete(first.context(), multiRef(), true);
    expect(backendSnapshots()).toBe(before);
    const listed = [];
    for await (const info of first.snapshotter().list(first.context(), [])) listed.push(info.name);
    expect(listed).toEqual([]);
    await readTree(second, chain.at(-1)!, (root) => expect(readFileSync(join(root, "data/new"), "utf8")).toBe("added in layer three\n"));
    // And gone from the disk once no namespace names them.
    await second.images.delete(second.context(), multiRef(), true);
    expect(backendSnapshots()).toBe(0);
  });

  it("a snapshot a client merely named like a chain ID is never handed to another namespace", async () => {
    const [chainId] = chainIds(busybox.diffIds);
    const evil = await connect("evil");
    const planted = (root: string) => writeFileSync(join(root, "planted"), "not from the image\n");

    // 1. Its own files, committed under the chain ID of busybox's layer.
    const kept = { "containerd.io/gc.root": "test" };
    const mounts = await evil.snapshotter().prepare(evil.context(), "forged", "", kept);
    await withMounts(mounts, planted, { tempDir: scratch });
    await evil.snapshotter().commit(evil.context(), chainId!, "forged", kept);

    // 2. The real layer, applied (by Berth) onto a snapshot it had written to first.
    const evil2 = await connect("evil2");
    await pull(evil2, busyboxRef(), { plainHttp: true, unpack: false });
    const dirty = await evil2.snapshotter().prepare(evil2.context(), "dirty", "", { ...kept, "containerd.io/snapshot.ref": chainId! });
    await withMounts(dirty, planted, { tempDir: scratch });
    const applied = await evil2.diff.apply(evil2.context(), busybox.layers[0]!, dirty);
    expect(applied.digest).toBe(chainId);
    await evil2.snapshotter().commit(evil2.context(), chainId!, "dirty", kept);

    const victim = await connect("victim");
    const snapshotsBefore = backendSnapshots();
    await pull(victim, busyboxRef(), { plainHttp: true });
    expect(backendSnapshots()).toBe(snapshotsBefore + 1);
    await readTree(victim, chainId!, (root) => {
      expect(existsSync(join(root, "planted"))).toBe(false);
      expect(existsSync(join(root, "bin/busybox"))).toBe(true);
    });
    // The forged one is still the evil namespace's own.
    await readTree(evil, chainId!, (root) => expect(existsSync(join(root, "planted"))).toBe(true));
    await readTree(evil2, chainId!, (root) => expect(existsSync(join(root, "planted"))).toBe(true));
  });

  it.skipIf(!stockContainerdInstalled)("stock ctr's pull links the verified snapshots too", async () => {
    const first = await connect("stock-first");
    await pull(first, multiRef(), { plainHttp: true });
    const before = backendSnapshots();
    const pulled = await runCommand(stockCtr!, ["--address", berthd.address, "-n", "stock-second", "images", "pull", "--plain-http", multiRef()]);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(backendSnapshots()).toBe(before);
    const listed = await runCommand(stockCtr!, ["--address", berthd.address, "-n", "stock-second", "snapshots", "ls"]);
    for (const chainId of chainIds(multi.diffIds)) expect(listed.stdout).toContain(chainId);
  });
});
