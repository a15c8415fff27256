import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, chainIds, pull } from "@berth/client";
import { withMounts } from "@berth/mount";
import {
  type LoopBtrfs,
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  buildMultiLayerImage,
  makeLoopBtrfs,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  stockContainerdInstalled,
  stockCtr,
} from "@berth/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

/** Where a snapshotter under test keeps its committed snapshots, and berthd's config for it. */
interface Backend {
  readonly snapshotter: string;
  /** Starts berthd; returns the directory holding one entry per committed (or removed-pending) snapshot. */
  start(): Promise<{ berthd: RunningDaemon; committed: string }>;
  dispose(): Promise<void>;
}

const overlay = (): Backend => ({
  snapshotter: "overlayfs",
  async start() {
    const berthd = await startBerthd();
    return { berthd, committed: join(berthd.root, "io.containerd.snapshotter.v1.overlayfs", "snapshots") };
  },
  async dispose() {},
});

const btrfs = (): Backend => {
  let loop: LoopBtrfs | undefined;
  return {
    snapshotter: "btrfs",
    async start() {
      loop = await makeLoopBtrfs();
      const root = join(loop.mnt, "snapshots");
      const berthd = await startBerthd({ config: `version = 2\n[plugins."io.containerd.snapshotter.v1.btrfs"]\nroot_path = ${JSON.stringify(root)}\n` });
      return { berthd, committed: join(root, "snapshots") };
    },
    async dispose() {
      await loop?.dispose();
    },
  };
};

describe.each([overlay(), btrfs()])("namespaces share the $snapshotter snapshots Berth verified", (backend) => {
  const { snapshotter } = backend;
  let registry: RunningRegistry;
  let berthd: RunningDaemon;
  let committed: string;
  let scratch: string;
  const clients: Client[] = [];
  const multi = buildMultiLayerImage();
  const busybox = buildBusyboxImage();
  const multiRef = () => `${registry.host}/library/multi:latest`;
  const busyboxRef = () => `${registry.host}/library/busybox:latest`;
  const backendSnapshots = () => readdirSync(committed).length;
  /** The committed snapshots' directories by id (not one being removed, renamed aside). */
  const backendSnapshotIds = () => readdirSync(committed).filter((name) => /^\d+$/.test(name));
  const snapshots = (client: Client) => client.snapshotter(snapshotter);
  const connect = async (namespace: string) => {
    const client = await Client.connect({ address: berthd.address, namespace });
    clients.push(client);
    return client;
  };
  /** The files under `name`'s root in `client`'s namespace, read through a view. */
  const readTree = async (client: Client, name: string, read: (root: string) => void) => {
    const view = `look-${Math.random().toString(36).slice(2)}`;
    await snapshots(client).view(client.context(), view, name, { "containerd.io/gc.root": "test" });
    try {
      await withMounts(await snapshots(client).mounts(client.context(), view), read, { tempDir: scratch });
    } finally {
      await snapshots(client).remove(client.context(), view);
    }
  };

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "berth-test-sharing-"));
    registry = await startRegistry();
    ({ berthd, committed } = await backend.start());
    await pushTestImage(multi, { url: registry.url, repository: "library/multi", tag: "latest" });
    await pushTestImage(busybox, { url: registry.url, repository: "library/busybox", tag: "latest" });
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await berthd?.cleanup();
    await backend.dispose();
    await registry?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("a pull into a second namespace applies no layer, and GC keeps what another namespace names", async () => {
    const first = await connect("first");
    await pull(first, multiRef(), { plainHttp: true, unpack: snapshotter });
    const before = backendSnapshots();
    expect(before).toBe(multi.layers.length);

    const second = await connect("second");
    const commits: string[] = [];
    const stop = new AbortController();
    const subscription = second.events.subscribe(["namespace==second,topic~=/snapshot/"], stop.signal);
    const collecting = (async () => {
      for await (const envelope of subscription) commits.push(envelope.topic);
    })();
    await pull(second, multiRef(), { plainHttp: true, unpack: snapshotter });
    expect(backendSnapshots()).toBe(before);
    const chain = chainIds(multi.diffIds);
    for (const [i, chainId] of chain.entries()) {
      expect(await snapshots(second).stat(second.context(), chainId)).toMatchObject({ kind: "committed", parent: i === 0 ? "" : chain[i - 1] });
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
    for await (const info of snapshots(first).list(first.context(), [])) listed.push(info.name);
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
    const mounts = await snapshots(evil).prepare(evil.context(), "forged", "", kept);
    await withMounts(mounts, planted, { tempDir: scratch });
    await snapshots(evil).commit(evil.context(), chainId!, "forged", kept);

    // 2. The real layer, applied (by Berth) onto a snapshot it had written to first.
    const evil2 = await connect("evil2");
    await pull(evil2, busyboxRef(), { plainHttp: true, unpack: false });
    const dirty = await snapshots(evil2).prepare(evil2.context(), "dirty", "", { ...kept, "containerd.io/snapshot.ref": chainId! });
    await withMounts(dirty, planted, { tempDir: scratch });
    const applied = await evil2.diff.apply(evil2.context(), busybox.layers[0]!, dirty);
    expect(applied.digest).toBe(chainId);
    await snapshots(evil2).commit(evil2.context(), chainId!, "dirty", kept);

    // 3. The real layer, applied (by Berth) onto a clean snapshot, then written to before the commit.
    const evil3 = await connect("evil3");
    await pull(evil3, busyboxRef(), { plainHttp: true, unpack: false });
    const late = await snapshots(evil3).prepare(evil3.context(), "late", "", { ...kept, "containerd.io/snapshot.ref": chainId! });
    expect((await evil3.diff.apply(evil3.context(), busybox.layers[0]!, late)).digest).toBe(chainId);
    await withMounts(late, planted, { tempDir: scratch });
    await snapshots(evil3).commit(evil3.context(), chainId!, "late", kept);

    const victim = await connect("victim");
    const snapshotsBefore = backendSnapshots();
    await pull(victim, busyboxRef(), { plainHttp: true, unpack: snapshotter });
    expect(backendSnapshots()).toBe(snapshotsBefore + 1);
    await readTree(victim, chainId!, (root) => {
      expect(existsSync(join(root, "planted"))).toBe(false);
      expect(existsSync(join(root, "bin/busybox"))).toBe(true);
    });
    // The forged one is still the evil namespace's own.
    await readTree(evil, chainId!, (root) => expect(existsSync(join(root, "planted"))).toBe(true));
    await readTree(evil2, chainId!, (root) => expect(existsSync(join(root, "planted"))).toBe(true));
    await readTree(evil3, chainId!, (root) => expect(existsSync(join(root, "planted"))).toBe(true));
  });

  it.skipIf(!stockContainerdInstalled)("stock ctr's plugins ls -d shows that the snapshotter shares", async () => {
    const listed = await runCommand(stockCtr!, ["--address", berthd.address, "plugins", "ls", "-d", `id==${snapshotter}`]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/Capabilities:\s+pristine-marks/);
  });

  it.skipIf(!stockContainerdInstalled)("stock ctr's pull links the verified snapshots too", async () => {
    const first = await connect("stock-first");
    await pull(first, multiRef(), { plainHttp: true, unpack: snapshotter });
    const before = new Set(backendSnapshotIds());
    const pulled = await runCommand(stockCtr!, [
      "--address",
      berthd.address,
      "-n",
      "stock-second",
      "images",
      "pull",
      "--snapshotter",
      snapshotter,
      "--plain-http",
      multiRef(),
    ]);
    expect(pulled.code, pulled.stderr).toBe(0);
    // No layer applied: no backend snapshot that was not there (an earlier test's may go meanwhile, in a pause between calls).
    expect(backendSnapshotIds().filter((id) => !before.has(id))).toEqual([]);
    const listed = await runCommand(stockCtr!, ["--address", berthd.address, "-n", "stock-second", "snapshots", "--snapshotter", snapshotter, "ls"]);
    for (const chainId of chainIds(multi.diffIds)) expect(listed.stdout).toContain(chainId);
  });
});
