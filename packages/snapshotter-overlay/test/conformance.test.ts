import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unmountUnder } from "@berth/mount";
import { describeSnapshotterConformance } from "@berth/snapshots/testsuite";
import { OverlaySnapshotter } from "@berth/snapshotter-overlay";
import { afterAll, expect } from "vitest";

const directories: string[] = [];

describeSnapshotterConformance("OverlaySnapshotter", async () => {
  const base = mkdtempSync(join(tmpdir(), "berth-test-overlay-"));
  directories.push(base);
  const scratch = join(base, "mnt");
  mkdirSync(scratch);
  try {
    const snapshotter = await OverlaySnapshotter.open(join(base, "root"));
    return {
      snapshotter,
      context: { namespace: "ignored" },
      root: scratch,
      async close() {
        try {
          await snapshotter.close();
        } finally {
          await unmountUnder(base, { detach: true });
          rmSync(base, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(base, { recursive: true, force: true });
    throw error;
  }
});

afterAll(() => {
  const mounts = readFileSync("/proc/self/mounts", "utf8");
  for (const directory of directories) expect(mounts).not.toContain(directory);
});
