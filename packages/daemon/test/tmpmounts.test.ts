// A berthd killed with -9 in the middle of an unpack leaves the applier's mount behind. It must be
// under <root>/tmpmounts (never in /tmp), and the next berthd unmounts it before its GC runs, so
// that the snapshot under it is kept or removed cleanly, as containerd's CleanupTempMounts does.
import { existsSync, readFileSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { kindOf } from "@berth/api";
import { Client } from "@berth/client";
import { writeBlob } from "@berth/content";
import { mountPointsUnder, unmountAll } from "@berth/mount";
import { type RunningDaemon, type TarEntry, startBerthd, tar } from "@berth/testkit";
import { expect, it } from "vitest";

const namespace = "tmpmounts";

/** The mount points (from /proc/self/mountinfo) of `root`'s snapshots: binds of a directory under it, or overlays naming it. */
function mountsOfRoot(root: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((line) => line.split(" ")[3]?.startsWith(`${root}/`) === true || line.split(" - ")[1]?.includes(root) === true)
    .map((line) => line.split(" ")[4] ?? "");
}

/** A layer that takes the applier a while: thousands of small files (gzip keeps the blob small). */
function slowLayer(): Uint8Array {
  const entries: TarEntry[] = [{ path: "many", type: "dir" }];
  for (let i = 0; i < 30_000; i++) entries.push({ path: `many/file-${i}`, type: "file", content: "x".repeat(64) });
  return gzipSync(tar(entries));
}

it("leaves a killed unpack's mount under <root>/tmpmounts, where the next start unmounts it before GC", async () => {
  let berthd: RunningDaemon = await startBerthd();
  const root = berthd.root;
  const tmpmounts = join(root, "tmpmounts");
  // Whatever the outcome, no mount of this daemon's snapshots may outlive the test, wherever it is.
  const unmountLeftovers = async () => {
    for (const point of mountsOfRoot(root)) {
      await unmountAll(point, { detach: true });
      if (point.startsWith("/tmp/berth-mount-")) rmdirSync(point);
    }
  };
  try {
    const client = await Client.connect({ address: berthd.address });
    const lease = await client.leases.create({ namespace }, { id: "unpack", labels: {} });
    const context = { namespace, lease: lease.id };
    // The native snapshotter's bind mounts are mounted to apply onto (an overlay's upper directory is written directly).
    const native = client.snapshotter("native");
    const layer = slowLayer();
    const { digest, size } = await writeBlob(client.content, context, "slow-layer", layer);
    await native.prepare(context, "base-active", "");
    await native.commit(context, "base", "base-active");

    const mounts = await native.prepare(context, "unpacking", "base");
    let finished = false;
    const applying = client.diff.apply(context, { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest, size }, mounts).then(
      () => (finished = true),
      () => (finished = true),
    );
    let live: string[] = [];
    while (live.length === 0 && !finished) {
      const points = mountsOfRoot(root);
      expect(
        points.filter((point) => !point.startsWith(`${tmpmounts}/`)),
        "the applier's mount is made under <root>/tmpmounts",
      ).toEqual([]);
      live = points;
      if (live.length === 0) await sleep(5);
    }
    expect(live, "the apply was still running when its mount was looked for").toHaveLength(1);
    await berthd.kill();
    client.close();
    await applying;
    expect(mountPointsUnder(tmpmounts), "kill -9 leaves the mount").toEqual(live);

    berthd = await startBerthd({ reuse: berthd });
    expect(mountsOfRoot(root), "the restarted berthd unmounted it").toEqual([]);
    expect(readdirSync(tmpmounts), "and removed its directory").toEqual([]);
    expect(berthd.logs()).toContain("unmounted temporary mounts left by an earlier run");

    // The lease kept the half-applied snapshot through the start-up GC; removing it lets GC take all.
    const again = await Client.connect({ address: berthd.address });
    try {
      const snapshots = again.snapshotter("native");
      expect((await snapshots.stat(context, "unpacking")).kind).toBe("active");
      await again.leases.delete({ namespace }, lease.id, true);
      expect(await snapshots.stat(context, "unpacking").then(() => "kept", kindOf)).toBe("NotFound");
      expect(await snapshots.stat(context, "base").then(() => "kept", kindOf)).toBe("NotFound");
    } finally {
      again.close();
    }
    const backendSnapshots = join(root, "io.containerd.snapshotter.v1.native", "snapshots");
    expect(existsSync(backendSnapshots) ? readdirSync(backendSnapshots) : [], "every backend directory is gone").toEqual([]);
    expect(berthd.logs()).not.toMatch(/could not remove collected snapshot|garbage collection failed|EBUSY|ENOENT/);
  } finally {
    await berthd.kill();
    await unmountLeftovers();
    await berthd.cleanup();
  }
});
