import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { kindOf } from "@berth/api";
import { Client } from "@berth/client";
import { digestOf, writeBlob } from "@berth/content";
import { type RunningDaemon, startBerthd, startStockContainerd, stockContainerdInstalled } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Entry, describeTree, tarOf } from "./layer-trees.js";

/** Everything a layer may set, then a second layer with a whiteout and an opaque directory. */
async function layers(): Promise<Buffer[]> {
  const first = await tarOf([
    { name: "etc/", type: "directory", mode: 0o755 },
    { name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/sh\n", mode: 0o644 },
    { name: "etc/secret", body: "s3cret", mode: 0o600, uid: 1000, gid: 1000 },
    { name: "bin/", type: "directory", mode: 0o755 },
    { name: "bin/tool", body: "#!/bin/sh\necho hi\n", mode: 0o4755 },
    { name: "bin/alias", type: "symlink", linkname: "tool" },
    { name: "bin/hard", type: "link", linkname: "bin/tool" },
    { name: "dev/", type: "directory", mode: 0o755 },
    { name: "dev/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 },
    { name: "run/", type: "directory", mode: 0o1777 },
    { name: "run/pipe", type: "fifo", mode: 0o600 },
    { name: "data/", type: "directory", mode: 0o750 },
    { name: "data/old", body: "old" },
    { name: "data/keep", body: "keep" },
    { name: "opt/", type: "directory" },
    { name: "opt/x", body: "x", pax: { "SCHILY.xattr.user.berth": "yes" } },
  ]);
  const second = await tarOf([
    { name: "data/.wh.old", body: "" },
    { name: "opt/.wh..wh..opq", body: "" },
    { name: "opt/y", body: "y" },
    { name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/bash\n", mode: 0o644 },
  ]);
  return [first, second];
}

const bind = (source: string) => [{ type: "bind", source, options: ["rw", "rbind"] }];

async function applyAll(daemon: RunningDaemon, blobs: Buffer[], compress: boolean): Promise<{ tree: Record<string, string>; diffIds: string[] }> {
  const client = await Client.connect({ address: daemon.address });
  const target = mkdtempSync(join(tmpdir(), "berth-test-apply-"));
  try {
    const context = { namespace: "diff", lease: (await client.leases.create({ namespace: "diff" }, { id: "", labels: {} })).id };
    const diffIds: string[] = [];
    for (const blob of blobs) {
      const data = compress ? gzipSync(blob) : blob;
      const { digest, size } = await writeBlob(client.content, context, `layer-${digestOf(data)}`, data);
      const mediaType = compress ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar";
      diffIds.push((await client.diff.apply(context, { mediaType, digest, size }, bind(target))).digest);
    }
    return { tree: describeTree(target), diffIds };
  } finally {
    client.close();
    rmSync(target, { recursive: true, force: true });
  }
}

describe("the diff service", () => {
  let berthd: RunningDaemon;
  let stock: RunningDaemon | undefined;
  beforeAll(async () => {
    berthd = await startBerthd();
    stock = await startStockContainerd();
  });
  afterAll(async () => {
    await berthd?.cleanup();
    await stock?.cleanup();
  });

  it("applies gzip and plain layers to the same tree, with the diff ID of the uncompressed stream", async () => {
    const blobs = await layers();
    const plain = await applyAll(berthd, blobs, false);
    const gzipped = await applyAll(berthd, blobs, true);
    expect(plain.diffIds).toEqual(blobs.map((blob) => digestOf(blob)));
    expect(gzipped.diffIds).toEqual(plain.diffIds);
    expect(gzipped.tree).toEqual(plain.tree);
    expect(plain.tree["data/old"]).toBeUndefined();
    expect(plain.tree["opt/x"]).toBeUndefined();
    expect(plain.tree["bin/tool"]).toContain("hardlink-of bin/hard");
    expect(plain.tree["dev/null"]).toMatch(/^char 666 0:0 259$/);
  });

  it.skipIf(!stockContainerdInstalled)("gives the same tree and diff IDs as stock containerd", async () => {
    const blobs = await layers();
    const ours = await applyAll(berthd, blobs, true);
    const theirs = await applyAll(stock!, blobs, true);
    expect(ours.diffIds).toEqual(theirs.diffIds);
    expect(ours.tree).toEqual(theirs.tree);
  });

  it("keeps a layer that climbs past its root inside it (as containerd), changing nothing outside it", async () => {
    const sentinel = mkdtempSync(join(tmpdir(), "berth-test-sentinel-"));
    const client = await Client.connect({ address: berthd.address });
    const target = mkdtempSync(join(tmpdir(), "berth-test-apply-"));
    try {
      const context = { namespace: "diff", lease: (await client.leases.create({ namespace: "diff" }, { id: "", labels: {} })).id };
      writeFileSync(join(sentinel, "victim"), "precious");
      const hostile = [
        [{ name: `../../../../../..${sentinel}/escaped`, body: "x" }],
        [
          { name: "up", type: "symlink", linkname: `../../../../../..${sentinel}` },
          { name: "up/escaped2", body: "x" },
        ],
        [{ name: "hl", type: "link", linkname: `../../../../../..${sentinel}/victim` }],
      ] as Entry[][];
      const results = [];
      for (const entries of hostile) {
        const { digest, size } = await writeBlob(client.content, context, `hostile-${Math.random()}`, await tarOf(entries));
        results.push(
          await client.diff.apply(context, { mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size }, bind(target)).then(
            () => "applied",
            (e: unknown) => kindOf(e),
          ),
        );
      }
      // The hard link's target is <target><sentinel>/victim, which the root does not have.
      expect(results).toEqual(["applied", "applied", "InvalidArgument"]);
      expect(readdirSync(join(target, sentinel)).sort()).toEqual(["escaped", "escaped2"]);
      expect(readdirSync(sentinel)).toEqual(["victim"]);
    } finally {
      client.close();
      rmSync(target, { recursive: true, force: true });
      rmSync(sentinel, { recursive: true, force: true });
    }
  });

  it("makes a layer of the changes between two trees that recreates the upper one", async () => {
    const client = await Client.connect({ address: berthd.address });
    const [lower, upper, replay] = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), "berth-test-tree-")));
    try {
      const context = { namespace: "diff", lease: (await client.leases.create({ namespace: "diff" }, { id: "", labels: {} })).id };
      const [first] = await layers();
      const base = await writeBlob(client.content, context, "base-layer", first!);
      for (const dir of [lower!, upper!, replay!])
        await client.diff.apply(context, { mediaType: "application/vnd.oci.image.layer.v1.tar", ...base }, bind(dir));
      const { writeFileSync, unlinkSync, chmodSync } = await import("node:fs");
      writeFileSync(join(upper!, "etc/new"), "added");
      writeFileSync(join(upper!, "data/keep"), "changed");
      unlinkSync(join(upper!, "etc/secret"));
      chmodSync(join(upper!, "bin/tool"), 0o700);
      const layer = await client.diff.diff(context, bind(lower!), bind(upper!), { ref: "computed" });
      expect(layer.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
      const info = await client.content.info(context, layer.digest);
      expect(info.labels["containerd.io/uncompressed"]).toMatch(/^sha256:[0-9a-f]{64}$/);
      await client.diff.apply(context, layer, bind(replay!));
      expect(describeTree(replay!)).toEqual(describeTree(upper!));
    } finally {
      client.close();
      for (const dir of [lower!, upper!, replay!]) rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses an unknown blob before mounting anything", async () => {
    const client = await Client.connect({ address: berthd.address });
    try {
      const result = await client.diff
        .apply({ namespace: "diff" }, { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: digestOf("absent"), size: 1 }, bind("/nonexistent"))
        .catch((e: unknown) => e);
      expect(kindOf(result)).toBe("NotFound");
    } finally {
      client.close();
    }
  });
});
