import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { applyLayer, compressStream, computeLayer, detectCompression } from "@berth/diff";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { collect, describeTree, getXattr, makeTar, setXattr, sha256, useTempDir, userXattrsWork } from "./fixtures.js";

const T = 1_600_000_000;
const at = (seconds: number) => new Date(seconds * 1000);

/** Names and types of a tar's entries, read by tar-stream (an independent reader). */
async function listTar(bytes: Buffer): Promise<Array<{ name: string; type: string; linkname?: string | null | undefined }>> {
  const out: Array<{ name: string; type: string; linkname?: string | null | undefined }> = [];
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const { name, type, linkname } = entry.header;
      out.push(type === "link" || type === "symlink" ? { name, type: String(type), linkname } : { name, type: String(type) });
      entry.resume();
    }
  })();
  extract.end(bytes);
  await done;
  return out;
}

const copyTree = (from: string, to: string) => execFileSync("cp", ["-a", from, to]);

// security.capability v2 with CAP_SETUID (bit 7) permitted and effective: binary, with 0x00 and 0x80 bytes.
const capability = Buffer.from([0x01, 0, 0, 0x02, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

describe("computeLayer", () => {
  const tmp = useTempDir();

  it("round-trips: the layer between two trees, applied onto the lower one, gives the upper one", async () => {
    const dir1 = join(tmp(), "dir1");
    mkdirSync(dir1);
    await applyLayer(
      [
        await makeTar([
          { name: "bin/", type: "directory", mode: 0o755 },
          { name: "bin/a", mode: 0o755, content: "binary a" },
          { name: "bin/b", type: "link", linkname: "bin/a", mode: 0o755 },
          { name: "bin/sh", type: "symlink", linkname: "a" },
          { name: "etc/conf", mode: 0o644, uid: 1000, gid: 1000, content: "k=v\n" },
          { name: "etc/shadow", mode: 0o600, content: "secret\n" },
          { name: "etc/same-size", content: "aaaa" },
          { name: "gone/", type: "directory" },
          { name: "gone/deep/file", content: "deep" },
          { name: "becomes-dir", content: "file" },
          { name: "becomes-file/", type: "directory" },
          { name: "becomes-file/child", content: "child" },
          { name: "dev/null", type: "character-device", mode: 0o666, devmajor: 1, devminor: 3 },
          { name: "run/fifo", type: "fifo", mode: 0o644 },
          { name: "usr/bin/ping", mode: 0o755, content: "ping" },
          { name: "xattrs", content: "x", pax: { "SCHILY.xattr.user.keep": "same", "SCHILY.xattr.user.change": "old" } },
          { name: "unchanged/", type: "directory", mode: 0o700 },
          { name: "unchanged/file", content: "same" },
          { name: "unique", content: "will get a new hard link" },
        ]),
      ],
      dir1,
    );
    const dir2 = join(tmp(), "dir2");
    copyTree(dir1, dir2);

    writeFileSync(join(dir2, "new-file"), "new");
    mkdirSync(join(dir2, "new-dir/sub"), { recursive: true });
    writeFileSync(join(dir2, "new-dir/sub/f"), "nested");
    writeFileSync(join(dir2, "bin/a"), "binary A, rewritten in place (b shares it)");
    writeFileSync(join(dir2, "etc/same-size"), "bbbb");
    utimesSync(join(dir2, "etc/same-size"), T, T);
    utimesSync(join(dir1, "etc/same-size"), T, T);
    unlinkSync(join(dir2, "etc/shadow"));
    rmSync(join(dir2, "gone"), { recursive: true });
    chmodSync(join(dir2, "etc/conf"), 0o640);
    chownSync(join(dir2, "usr/bin/ping"), 0, 999);
    unlinkSync(join(dir2, "bin/sh"));
    symlinkSync("b", join(dir2, "bin/sh"));
    unlinkSync(join(dir2, "becomes-dir"));
    mkdirSync(join(dir2, "becomes-dir"));
    writeFileSync(join(dir2, "becomes-dir/inside"), "inside");
    rmSync(join(dir2, "becomes-file"), { recursive: true });
    writeFileSync(join(dir2, "becomes-file"), "now a file");
    linkSync(join(dir2, "unique"), join(dir2, "zz-new-link"));
    execFileSync("mkfifo", ["-m", "600", join(dir2, "run/fifo2")]);
    utimesSync(join(dir2, "new-file"), at(T + 5), at(T + 5));
    if (userXattrsWork) {
      setXattr(join(dir2, "xattrs"), "user.change", Buffer.from([0xff, 0x00, 0x80, 0xc3]));
      setXattr(join(dir2, "new-file"), "user.binary", Buffer.from([0x00, 0xfe]));
    }
    setXattr(join(dir2, "usr/bin/ping"), "security.capability", capability);

    const layer = await collect(computeLayer(dir1, dir2));
    const dir3 = join(tmp(), "dir3");
    copyTree(dir1, dir3);
    const applied = await applyLayer([layer], dir3);
    expect(applied).toEqual({ digest: sha256(layer), size: layer.length });
    expect(describeTree(dir3)).toEqual(describeTree(dir2));
    expect(getXattr(join(dir3, "usr/bin/ping"), "security.capability")).toEqual(capability);
    if (userXattrsWork) expect(getXattr(join(dir3, "xattrs"), "user.change")).toEqual(Buffer.from([0xff, 0x00, 0x80, 0xc3]));

    // Deterministic: the same trees give the same bytes.
    expect(sha256(await collect(computeLayer(dir1, dir2)))).toBe(sha256(layer));
    // And nothing unchanged went in.
    const names = (await listTar(layer)).map((e) => e.name);
    expect(names).not.toContain("unchanged/");
    expect(names).not.toContain("unchanged/file");
    expect(names).not.toContain("dev/null");
    expect(names).toContain("etc/same-size");
  });

  it("writes sorted entries, parents first, whiteouts in place, and hard links within the layer", async () => {
    const lower = join(tmp(), "lower");
    mkdirSync(join(lower, "a"), { recursive: true });
    mkdirSync(join(lower, "c"));
    writeFileSync(join(lower, "a/x"), "x");
    writeFileSync(join(lower, "a/y"), "y");
    writeFileSync(join(lower, "b"), "b");
    writeFileSync(join(lower, "c/z"), "z");
    mkdirSync(join(lower, "e/f"), { recursive: true });
    writeFileSync(join(lower, "e/f/g"), "g");
    for (const p of ["a/x", "a/y", "b", "c/z", "a", "c", "e/f/g", "e/f", "e"]) utimesSync(join(lower, p), T, T);
    const upper = join(tmp(), "upper");
    copyTree(lower, upper);
    writeFileSync(join(upper, "a/x"), "x2");
    writeFileSync(join(upper, "a/new"), "new");
    unlinkSync(join(upper, "a/y"));
    unlinkSync(join(upper, "b"));
    writeFileSync(join(upper, "d"), "d");
    linkSync(join(upper, "d"), join(upper, "d2"));
    // A change deep down brings its unchanged parents along.
    writeFileSync(join(upper, "e/f/g"), "g2");
    utimesSync(join(upper, "e/f"), T, T);

    const layer = await collect(computeLayer(lower, upper));
    expect(await listTar(layer)).toEqual([
      { name: "a/", type: "directory" },
      { name: "a/new", type: "file" },
      { name: "a/x", type: "file" },
      { name: "a/.wh.y", type: "file" },
      { name: ".wh.b", type: "file" },
      { name: "d", type: "file" },
      { name: "d2", type: "link", linkname: "d" },
      { name: "e/", type: "directory" },
      { name: "e/f/", type: "directory" },
      { name: "e/f/g", type: "file" },
    ]);
  });

  it("gives an empty archive for identical trees, and compresses to layers with the same diff ID", async () => {
    const lower = join(tmp(), "lower");
    mkdirSync(join(lower, "d"), { recursive: true });
    writeFileSync(join(lower, "d/f"), "f");
    const upper = join(tmp(), "upper");
    copyTree(lower, upper);
    expect(await collect(computeLayer(lower, upper))).toEqual(Buffer.alloc(1024));

    writeFileSync(join(upper, "d/big"), Buffer.alloc(1_000_000, 3));
    const plain = await collect(computeLayer(lower, upper));
    for (const compression of ["gzip", "zstd"] as const) {
      const blob = await collect(compressStream(Readable.from(computeLayer(lower, upper)), compression));
      expect(detectCompression(blob)).toBe(compression);
      const target = join(tmp(), `applied-${compression}`);
      copyTree(lower, target);
      expect(await applyLayer([blob], target)).toEqual({ digest: sha256(plain), size: plain.length });
      expect(describeTree(target)).toEqual(describeTree(upper));
    }
  });

  it("writes long, non-ASCII and large-id entries through PAX, readable by another tar reader", async () => {
    const lower = join(tmp(), "lower");
    mkdirSync(lower);
    const upper = join(tmp(), "upper");
    const deep = `${"segment-".repeat(20)}/${"x".repeat(120)}`;
    mkdirSync(join(upper, "segment-".repeat(20)), { recursive: true });
    writeFileSync(join(upper, deep), "deep");
    writeFileSync(join(upper, "ünïcödé"), "u");
    symlinkSync("t".repeat(150), join(upper, "long-link"));
    writeFileSync(join(upper, "big-ids"), "ids");
    chownSync(join(upper, "big-ids"), 3_000_000, 4_000_000);
    const layer = await collect(computeLayer(lower, upper));
    const entries = await listTar(layer);
    expect(entries.map((e) => e.name)).toEqual(["big-ids", "long-link", `${"segment-".repeat(20)}/`, deep, "ünïcödé"]);
    expect(entries[1]?.linkname).toBe("t".repeat(150));
    const target = join(tmp(), "target");
    mkdirSync(target);
    await applyLayer([layer], target);
    expect(describeTree(target)).toEqual(describeTree(upper));
    expect(lstatSync(join(target, "big-ids")).uid).toBe(3_000_000);
  });
});
