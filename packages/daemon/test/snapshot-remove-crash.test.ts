import { existsSync } from "node:fs";
import { join } from "node:path";
import type { SnapshotInfo } from "@berth/api";
import { Client } from "@berth/client";
import { OverlaySnapshotter } from "@berth/snapshotter-overlay";
import { startBerthd } from "@berth/testkit";
import { describe, expect, it } from "vitest";

/** The backend's snapshots, read with berthd stopped. */
async function backendSnapshots(backendRoot: string): Promise<SnapshotInfo[]> {
  const backend = new OverlaySnapshotter(backendRoot);
  try {
    const found: SnapshotInfo[] = [];
    for await (const info of backend.list({}, [])) found.push(info);
    return found;
  } finally {
    await backend.close();
  }
}

describe("Snapshots.Remove across a crash", () => {
  it("removes at start the backend snapshots a crash left after their records were dropped, children first, and keeps the named ones", async () => {
    const first = await startBerthd();
    try {
      const backendRoot = join(first.root, "io.containerd.snapshotter.v1.overlayfs");
      let client = await Client.connect({ address: first.address });
      // Under a lease, so that the collection at start keeps them.
      const lease = await client.leases.create({ namespace: "crash" }, { id: "keep", labels: {} });
      const context = { namespace: "crash", lease: lease.id };
      const snapshots = client.snapshotter("overlayfs");
      await snapshots.prepare(context, "base-active", "");
      await snapshots.commit(context, "base", "base-active");
      await snapshots.prepare(context, "kept", "base");
      client.close();
      await first.kill();

      // What a crash right after Snapshots.Remove's commit leaves: backend snapshots, with their
      // directories, that no record names; one of them the child of another.
      const [named] = (await backendSnapshots(backendRoot)).filter((info) => info.kind === "committed");
      const orphans = new OverlaySnapshotter(backendRoot);
      try {
        await orphans.prepare({}, "crash/0000000000000000/orphan-active", named!.name);
        await orphans.prepare({}, "crash/0000000000000001/orphan-parent-active", "");
        await orphans.commit({}, "crash/0000000000000001/orphan-parent", "crash/0000000000000001/orphan-parent-active");
        await orphans.prepare({}, "crash/0000000000000002/orphan-child", "crash/0000000000000001/orphan-parent");
      } finally {
        await orphans.close();
      }
      expect(await backendSnapshots(backendRoot)).toHaveLength(5);

      const second = await startBerthd({ reuse: first });
      try {
        client = await Client.connect({ address: second.address });
        const restarted = client.snapshotter("overlayfs");
        expect((await restarted.stat(context, "kept")).kind).toBe("active");
        expect((await restarted.stat(context, "base")).kind).toBe("committed");
        client.close();
      } finally {
        await second.stop();
      }
      const left = await backendSnapshots(backendRoot);
      expect(left.map((info) => info.kind).sort()).toEqual(["active", "committed"]);
      expect(left.map((info) => info.name).some((name) => name.includes("orphan"))).toBe(false);
      // Their directories went with them: only the two named snapshots' remain.
      const directories = join(backendRoot, "snapshots");
      expect(["1", "2"].every((id) => existsSync(join(directories, id)))).toBe(true);
      expect(["3", "4", "5"].some((id) => existsSync(join(directories, id)))).toBe(false);
    } finally {
      await first.cleanup();
    }
  });
});
