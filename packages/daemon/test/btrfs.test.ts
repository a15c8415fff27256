import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@berth/client";
import { describeSnapshotterConformance } from "@berth/snapshots/testsuite";
import { type LoopBtrfs, type RunningDaemon, makeLoopBtrfs, runCommand, startBerthd, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let btrfs: LoopBtrfs;
let berthd: RunningDaemon;
let client: Client;
beforeAll(async () => {
  btrfs = await makeLoopBtrfs();
  berthd = await startBerthd({
    config: `version = 2\n[plugins."io.containerd.snapshotter.v1.btrfs"]\nroot_path = ${JSON.stringify(join(btrfs.mnt, "snapshots"))}\n`,
  });
  client = await Client.connect({ address: berthd.address });
});
afterAll(async () => {
  client?.close();
  await berthd?.cleanup();
  await btrfs?.dispose();
});

let run = 0;
describeSnapshotterConformance("gRPC proxy to berthd's btrfs", async () => {
  const namespace = `btrfs-${++run}`;
  const lease = await client.leases.create({ namespace }, { id: "", labels: {} });
  const root = mkdtempSync(join(tmpdir(), "berth-test-btrfs-mounts-"));
  return {
    snapshotter: client.snapshotter("btrfs"),
    context: { namespace, lease: lease.id },
    root,
    close: async () => {
      await client.leases.delete({ namespace }, lease.id, true);
      rmSync(root, { recursive: true, force: true });
    },
  };
});

describe("the btrfs snapshotter in berthd", () => {
  it("is loaded beside overlayfs and native, and skipped with containerd's reason where the root is not btrfs", async () => {
    // The windows snapshotter skips itself on Linux (packages/daemon/test/windows-plugins.test.ts).
    const plugins = await client.plugins(["type==io.containerd.snapshotter.v1,id!=windows"]);
    expect(plugins.map((p) => [p.id, p.initErr?.message ?? "ok"])).toEqual([
      ["overlayfs", "ok"],
      ["btrfs", "ok"],
      ["native", "ok"],
    ]);
    const plain = await startBerthd();
    try {
      const other = await Client.connect({ address: plain.address });
      const [skipped] = await other.plugins(["id==btrfs"]);
      other.close();
      expect(skipped?.initErr?.message).toMatch(/must be a btrfs filesystem to be used with the btrfs snapshotter: skip plugin$/);
    } finally {
      await plain.cleanup();
    }
  });

  it.skipIf(!stockContainerdInstalled)("takes stock ctr's snapshots commands with --snapshotter btrfs", async () => {
    const ctr = (...args: string[]) => runCommand(stockCtr!, ["--address", berthd.address, "snapshots", "--snapshotter", "btrfs", ...args]);
    expect((await ctr("prepare", "k1")).code).toBe(0);
    expect((await ctr("commit", "c1", "k1")).code).toBe(0);
    expect((await ctr("prepare", "k2", "c1")).code).toBe(0);
    expect((await ctr("ls")).stdout).toMatch(/^KEY +PARENT +KIND +\nc1 +Committed +\nk2 +c1 +Active +\n$/);
    expect((await ctr("mounts", "/mnt", "k2")).stdout).toMatch(new RegExp(`^mount -t btrfs ${btrfs.device} /mnt -o subvolid=\\d+\\n$`));
    expect((await ctr("rm", "k2")).code).toBe(0);
    expect((await ctr("rm", "c1")).code).toBe(0);
  });
});
