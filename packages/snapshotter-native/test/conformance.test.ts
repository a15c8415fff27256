import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unmountUnder } from "@berth/mount";
import { NativeSnapshotter } from "@berth/snapshotter-native";
import { describeSnapshotterConformance } from "@berth/snapshots/testsuite";
import { afterAll, expect } from "vitest";

const directories: string[] = [];

describeSnapshotterConformance("NativeSnapshotter", async () => {
  const base = mkdtempSync(join(tmpdir(), "berth-test-native-"));
  directories.push(base);
  const scratch = join(base, "mnt");
  mkdirSync(scratch);
  const snapshotter = new NativeSnapshotter(join(base, "root"));
  return {
    snapshotter,
    context: { namespace: "ignored" },
    root: scratch,
    usageIncludesParents: true,
    async close() {
      try {
        await snapshotter.close();
      } finally {
        await unmountUnder(base, { detach: true });
        rmSync(base, { recursive: true, force: true });
      }
    },
  };
});

afterAll(() => {
  const mounts = readFileSync("/proc/self/mounts", "utf8");
  for (const directory of directories) expect(mounts).not.toContain(directory);
});
