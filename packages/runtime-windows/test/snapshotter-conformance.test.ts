import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unmountUnder } from "@berth/mount";
import { type MountShape, WindowsSnapshotter } from "@berth/runtime-windows";
import { describeSnapshotterConformance } from "@berth/snapshots/testsuite";
import { afterAll, expect } from "vitest";
import { DiskLayerOps, windowsMountRunner } from "./disk-layer-ops.js";

const directories: string[] = [];

for (const shape of ["1.6", "1.7"] as MountShape[]) {
  describeSnapshotterConformance(`WindowsSnapshotter (${shape} mounts) over layer directories on disk`, async () => {
    const base = mkdtempSync(join(tmpdir(), "berth-test-windows-"));
    directories.push(base);
    const scratch = join(base, "mnt");
    mkdirSync(scratch);
    const ops = new DiskLayerOps();
    const snapshotter = await WindowsSnapshotter.open(join(base, "root"), ops, { mountShape: shape });
    return {
      snapshotter,
      context: { namespace: "ignored" },
      root: scratch,
      usageIncludesParents: true,
      withMounts: windowsMountRunner(ops),
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
}

afterAll(() => {
  const mounts = readFileSync("/proc/self/mounts", "utf8");
  for (const directory of directories) expect(mounts).not.toContain(directory);
});
