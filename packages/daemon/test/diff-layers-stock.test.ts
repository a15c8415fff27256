import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { closeSync, ftruncateSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf } from "@berth/api";
import { Client } from "@berth/client";
import { digestOf, writeBlob } from "@berth/content";
import { type RunningDaemon, startBerthd, startStockContainerd, stockContainerdInstalled } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Entry, describeTree, tarOf } from "./layer-trees.js";

const bind = (source: string) => [{ type: "bind", source, options: ["rw", "rbind"] }];

/**
 * Applies `layer` through `daemon`'s Diff service onto a fresh root that sits three levels below a
 * temp dir, beside a sentinel directory; returns the root's tree (or the error kind) and whether
 * anything outside the root changed.
 */
async function applyOnce(
  daemon: RunningDaemon,
  layer: Buffer,
  look: (root: string) => unknown = (root) => describeTree(root, { times: true }),
): Promise<{ result: unknown; outsideChanged: boolean }> {
  const client = await Client.connect({ address: daemon.address });
  const base = mkdtempSync(join(tmpdir(), "berth-test-layers-"));
  const root = join(base, "a", "b", "root");
  const sentinel = join(base, "sentinel");
  mkdirSync(join(root, "sentinel/sub"), { recursive: true });
  writeFileSync(join(root, "sentinel/sub/file"), "lower");
  mkdirSync(join(sentinel, "b"), { recursive: true });
  writeFileSync(join(sentinel, "passwd"), "precious\n");
  utimesSync(join(sentinel, "b"), 1_000_000, 1_000_000);
  const outside = () => Object.fromEntries(Object.entries(describeTree(base, { times: true })).filter(([p]) => p !== "a/b/root" && !p.startsWith("a/b/root/")));
  try {
    const before = outside();
    const context = { namespace: "layers", lease: (await client.leases.create({ namespace: "layers" }, { id: "", labels: {} })).id };
    const { digest, size } = await writeBlob(client.content, context, `layer-${digestOf(layer)}`, layer);
    const result = await client.diff.apply(context, { mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size }, bind(root)).then(
      () => look(root),
      (error: unknown) => `failed: ${kindOf(error)}`,
    );
    return { result, outsideChanged: JSON.stringify(outside()) !== JSON.stringify(before) };
  } finally {
    client.close();
    rmSync(base, { recursive: true, force: true });
  }
}

/** A layer whose links and names climb past the root, replace links mid-layer and white out through them. */
function climbingLayer(): Promise<Buffer> {
  return tarOf([
    { name: "../escape", body: "1" },
    { name: "x/../../../../sentinel/passwd", body: "3" },
    { name: "a", type: "symlink", linkname: "../../../../etc" },
    { name: "a/passwd", body: "through a" },
    { name: "d/evil", type: "symlink", linkname: "../../../sentinel" },
    { name: "d/evil/passwd2", body: "through d/evil" },
    { name: "evil", type: "symlink", linkname: "/" },
    { name: "evil/etc/x", body: "through /" },
    { name: "l", type: "symlink", linkname: "/inside" },
    { name: "l/x", body: "x" },
    { name: "l", type: "symlink", linkname: "../../../sentinel" },
    { name: "l/y", body: "through the new l" },
    { name: "p/q/f1", body: "f1" },
    { name: ".wh.p" },
    { name: "p", type: "symlink", linkname: "../../.." },
    { name: "p/q/f2", body: "f2" },
    { name: "hl1", type: "link", linkname: "../../../sentinel/passwd" },
    { name: "rel", type: "symlink", linkname: "../../../sentinel" },
    { name: "hl2", type: "link", linkname: "rel/passwd2" },
    { name: "t/u/", type: "directory", mode: 0o755 } as Entry,
    { name: "t/x", body: "t/x" },
    { name: "s", type: "symlink", linkname: "/t/u" },
    { name: "hl3", type: "link", linkname: "s/../x" },
    // The root already has sentinel/sub/file.
    { name: "w", type: "symlink", linkname: "../../../sentinel/sub" },
    { name: "w/.wh.file" },
    { name: "sentinel/b/", type: "directory", mtime: new Date(1_400_000_000_000) },
    { name: "m/b/", type: "directory", mtime: new Date(1_500_000_000_000) },
    { name: "m", type: "symlink", linkname: "../../../sentinel" },
    { name: "../dev-escape", type: "character-device", devmajor: 1, devminor: 3 },
  ]);
}

const MiB = 1024 ** 2;

/** GNU tar's own archive of a 32 MiB file holding three short runs of data, in `format`. */
function sparseLayer(dir: string, format: string): Buffer {
  const fd = openSync(join(dir, "sparse"), "w");
  try {
    ftruncateSync(fd, 32 * MiB);
    writeSync(fd, Buffer.from("hello"), 0, 5, 4096);
    writeSync(fd, Buffer.from("middle"), 0, 6, 16 * MiB);
    writeSync(fd, Buffer.from("end!"), 0, 4, 32 * MiB - 4);
  } finally {
    closeSync(fd);
  }
  const [kind, version] = format.split(" ");
  return execFileSync("tar", [
    "--sparse",
    `--format=${kind}`,
    ...(version === undefined ? [] : [`--sparse-version=${version}`]),
    "-C",
    dir,
    "-cf",
    "-",
    "sparse",
  ]);
}

describe.skipIf(!stockContainerdInstalled)("layers beside stock containerd's Diff.Apply", () => {
  let berthd: RunningDaemon;
  let stock: RunningDaemon;
  let scratch = "";
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "berth-test-sparse-src-"));
    berthd = await startBerthd();
    stock = (await startStockContainerd()) as RunningDaemon;
  });
  afterAll(async () => {
    await berthd?.cleanup();
    await stock?.cleanup();
    if (scratch !== "") rmSync(scratch, { recursive: true, force: true });
  });

  it("resolves climbing names and links inside the root to the same tree, nothing outside changed", async () => {
    const layer = await climbingLayer();
    const since = Math.floor(Date.now() / 1000);
    const ours = await applyOnce(berthd, layer);
    const theirs = await applyOnce(stock, layer);
    expect(theirs.outsideChanged).toBe(false);
    expect(ours.outsideChanged).toBe(false);
    // Directories the layer names without a time get the time of the apply: the two applies may straddle a second.
    const applyTimes = (tree: unknown) =>
      Object.fromEntries(
        Object.entries(tree as Record<string, string>).map(([path, detail]) => [
          path,
          detail.replace(/mtime=(\d+)/, (text, seconds: string) => (Number(seconds) >= since ? "mtime=<apply>" : text)),
        ]),
      );
    expect(applyTimes(ours.result)).toEqual(applyTimes(theirs.result));
    expect(ours.result).toMatchObject({
      "etc/passwd": expect.stringContaining("file"),
      "sentinel/y": expect.stringContaining("file"),
      "q/f2": expect.stringContaining("file"),
    });
    expect(ours.result).not.toHaveProperty("sentinel/sub/file");
  });

  it.each(["gnu", "pax 0.0", "pax 0.1", "pax 1.0"])("applies GNU tar's sparse %s format to the same content, with holes", async (format) => {
    const layer = sparseLayer(scratch, format);
    const sparseFile = (root: string) => {
      const stat = lstatSync(join(root, "sparse"));
      return {
        size: stat.size,
        digest: createHash("sha256")
          .update(readFileSync(join(root, "sparse")))
          .digest("hex"),
        blocks: stat.blocks,
      };
    };
    const source = sparseFile(scratch);
    const ours = await applyOnce(berthd, layer, sparseFile);
    const theirs = await applyOnce(stock, layer, sparseFile);
    expect(ours.result).toMatchObject({ size: source.size, digest: source.digest });
    // Three 4 KiB blocks of data.
    expect((ours.result as { blocks: number }).blocks).toBeLessThanOrEqual(64);
    // containerd 1.6's Go reader reads the old GNU format but its applier refuses type 'S'
    // ("unhandled tar header type 83"); Berth applies it. Containerd writes the holes as zeros.
    if (format === "gnu") expect(theirs.result).toBe("failed: Unknown");
    else expect(theirs.result).toMatchObject({ size: source.size, digest: source.digest, blocks: (32 * MiB) / 512 });
  });
});
