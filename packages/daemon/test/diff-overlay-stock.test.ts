// Layers applied onto overlayfs snapshots go straight into each snapshot's upper directory (no
// temporary mount), as containerd 1.6 does: whiteouts as character devices 0/0, opaque
// directories as the trusted.overlay.opaque xattr, missing parents made with the attributes of
// the lower layers' directories. The upper directories must come out as stock containerd's do.
import { lgetxattr } from "@berth/libc";
import { Client } from "@berth/client";
import { digestOf, writeBlob } from "@berth/content";
import { type RunningDaemon, startBerthd, startStockContainerd, stockContainerdInstalled } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeTree, tarOf } from "./layer-trees.js";

async function stack(): Promise<Buffer[]> {
  return [
    await tarOf([
      { name: "etc/", type: "directory", mode: 0o755 },
      { name: "etc/passwd", body: "root\n", mode: 0o644 },
      { name: "etc/gone", body: "gone\n" },
      { name: "srv/", type: "directory", mode: 0o750, uid: 1000, gid: 1000, mtime: new Date(1_500_000_000_000) },
      { name: "srv/deep/", type: "directory", mode: 0o700, uid: 1001, gid: 1001, mtime: new Date(1_400_000_000_000) },
      { name: "srv/deep/old", body: "old" },
      { name: "opt/", type: "directory" },
      { name: "opt/a", body: "a" },
      { name: "tree/", type: "directory" },
      { name: "tree/leaf", body: "leaf" },
      { name: "data/", type: "directory", mode: 0o711, uid: 7, gid: 8, mtime: new Date(1_300_000_000_000) },
      { name: "lnk", type: "symlink", linkname: "data" },
    ]),
    await tarOf([
      { name: "etc/.wh.gone", uid: 5, gid: 6 },
      { name: ".wh.tree" },
      { name: "opt/.wh..wh..opq" },
      { name: "opt/b", body: "b" },
      { name: "srv/deep/new", body: "new" },
      { name: "lnk/through", body: "through the lower link" },
      { name: ".wh.never-there" },
    ]),
    await tarOf([
      { name: "opt/c", body: "c" },
      { name: "etc/.wh.passwd" },
      { name: "tree/", type: "directory", mode: 0o700 },
      { name: "tree/again", body: "again" },
    ]),
  ];
}

const upperOf = (mounts: readonly { type: string; source: string; options: readonly string[] }[]) => {
  const [mount] = mounts;
  if (mount?.type === "bind") return mount.source;
  return mount?.options.find((option) => option.startsWith("upperdir="))?.slice("upperdir=".length) ?? "";
};

/** Each layer applied onto a snapshot of the one before; each upper directory as data (opaque marks included). */
async function unpack(daemon: RunningDaemon, layers: Buffer[], since: number): Promise<Array<Record<string, string>>> {
  const client = await Client.connect({ address: daemon.address });
  try {
    const context = { namespace: "overlay-apply", lease: (await client.leases.create({ namespace: "overlay-apply" }, { id: "", labels: {} })).id };
    const snapshots = client.snapshotter("overlayfs");
    const uppers: Array<Record<string, string>> = [];
    let parent = "";
    for (const [i, layer] of layers.entries()) {
      const { digest, size } = await writeBlob(client.content, context, `layer-${digestOf(layer)}`, layer);
      const mounts = await snapshots.prepare(context, `active-${i}`, parent);
      await client.diff.apply(context, { mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size }, mounts);
      const upper = upperOf(mounts);
      const tree = describeTree(upper, { times: true });
      for (const path of ["", ...Object.keys(tree)]) {
        if (lgetxattr(path === "" ? upper : `${upper}/${path}`, "trusted.overlay.opaque") !== undefined) tree[path] = `${tree[path] ?? "root"} opaque`;
      }
      // Times the apply itself gave (directories written into, whiteouts) straddle a second between the daemons.
      uppers.push(
        Object.fromEntries(
          Object.entries(tree).map(([path, detail]) => [
            path,
            detail.replace(/mtime=(\d+)/, (text, s: string) => (Number(s) >= since ? "mtime=<apply>" : text)),
          ]),
        ),
      );
      await snapshots.commit(context, `layer-${i}`, `active-${i}`);
      parent = `layer-${i}`;
    }
    return uppers;
  } finally {
    client.close();
  }
}

describe.skipIf(!stockContainerdInstalled)("layers applied onto overlayfs snapshots, beside stock containerd", () => {
  let berthd: RunningDaemon;
  let stock: RunningDaemon;
  beforeAll(async () => {
    berthd = await startBerthd();
    stock = (await startStockContainerd()) as RunningDaemon;
  });
  afterAll(async () => {
    await berthd?.cleanup();
    await stock?.cleanup();
  });

  it("writes the same upper directories: whiteout devices, opaque marks, parents copied from the lowers", async () => {
    const layers = await stack();
    const since = Math.floor(Date.now() / 1000);
    const ours = await unpack(berthd, layers, since);
    const theirs = await unpack(stock, layers, since);
    expect(ours).toEqual(theirs);
    expect(ours[1]).toMatchObject({
      "etc/gone": "char 0 5:6 size=0 mtime=<apply> 0",
      tree: "char 0 0:0 size=0 mtime=<apply> 0",
      "never-there": "char 0 0:0 size=0 mtime=<apply> 0",
      opt: expect.stringMatching(/ opaque$/),
      srv: "dir 750 1000:1000 size=4096 mtime=<apply>",
      "srv/deep": "dir 700 1001:1001 size=4096 mtime=<apply>",
      lnk: "dir 711 7:8 size=4096 mtime=<apply>",
    });
  });
});
