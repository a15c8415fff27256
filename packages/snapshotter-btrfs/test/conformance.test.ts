import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { unmountUnder } from "@berth/mount";
import { BtrfsSnapshotter } from "@berth/snapshotter-btrfs";
import { describeSnapshotterConformance } from "@berth/snapshots/testsuite";
import { afterAll, beforeAll, expect } from "vitest";
import { type LoopBtrfs, makeLoopBtrfs } from "./loop-btrfs.js";

let fs: LoopBtrfs | undefined;

beforeAll(async () => {
  fs = await makeLoopBtrfs();
});

afterAll(async () => {
  const base = fs?.base;
  await fs?.dispose();
  if (base !== undefined) expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(base);
});

// Each test gets a fresh root on the shared filesystem; its scratch mount points are off btrfs.
describeSnapshotterConformance("BtrfsSnapshotter", async () => {
  if (fs === undefined) throw new Error("no btrfs filesystem");
  const root = mkdtempSync(join(fs.mnt, "root-"));
  const scratch = mkdtempSync(join(fs.base, "scratch-"));
  const snapshotter = new BtrfsSnapshotter(root);
  return {
    snapshotter,
    context: { namespace: "ignored" },
    root: scratch,
    async close() {
      try {
        await snapshotter.close();
      } finally {
        await unmountUnder(scratch, { detach: true });
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  };
});
