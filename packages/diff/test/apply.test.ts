import { execFileSync } from "node:child_process";
import {
  createReadStream,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import zlib from "node:zlib";
import { applyLayer, decompressStream, detectCompression } from "@berth/diff";
import { describe, expect, it } from "vitest";
import { collect, describeTree, getXattr, kindOfFailure, makeTar, setTypeflag, setXattr, sha256, useTempDir, userXattrsWork } from "./fixtures.js";

const T = 1_600_000_000;
const at = (seconds: number) => new Date(seconds * 1000);

describe("applyLayer: entries and metadata", () => {
  const tmp = useTempDir();
  const root = () => {
    const dir = join(tmp(), "root");
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  it("creates files, dirs, symlinks, hard links, devices and fifos with their metadata", async () => {
    const layer = await makeTar([
      { name: "etc/", type: "directory", mode: 0o750, uid: 10, gid: 20, mtime: at(T + 1) },
      { name: "etc/passwd", mode: 0o644, uid: 1234, gid: 5678, mtime: at(T + 2), content: "root:x:0:0\n" },
      { name: "bin/su", mode: 0o4755, mtime: at(T + 3), content: "#!setuid" },
      { name: "bin/sg", mode: 0o2711, content: "setgid" },
      { name: "tmp/", type: "directory", mode: 0o1777 },
      { name: "bin/sh", type: "symlink", linkname: "/bin/busybox", uid: 7, gid: 8 },
      // Like containerd, a hard link's header metadata applies to the shared inode.
      { name: "bin/su2", type: "link", linkname: "bin/su", mode: 0o4755 },
      { name: "dev/null", type: "character-device", mode: 0o666, devmajor: 1, devminor: 3 },
      { name: "dev/loop9", type: "block-device", mode: 0o660, devmajor: 7, devminor: 9, gid: 6 },
      { name: "dev/big", type: "character-device", mode: 0o600, devmajor: 300, devminor: 70000 },
      { name: "run/fifo", type: "fifo", mode: 0o620 },
      { name: "empty", mode: 0o400, content: "" },
    ]);
    const r = root();
    const applied = await applyLayer([layer], r);
    expect(applied).toEqual({ digest: sha256(layer), size: layer.length });

    const st = (p: string) => lstatSync(join(r, p));
    expect(readFileSync(join(r, "etc/passwd"), "utf8")).toBe("root:x:0:0\n");
    expect(st("etc/passwd").mode & 0o7777).toBe(0o644);
    expect([st("etc/passwd").uid, st("etc/passwd").gid]).toEqual([1234, 5678]);
    expect(st("etc/passwd").mtimeMs).toBe((T + 2) * 1000);
    expect(st("etc").isDirectory()).toBe(true);
    expect(st("etc").mode & 0o7777).toBe(0o750);
    expect([st("etc").uid, st("etc").gid]).toEqual([10, 20]);
    // Set after etc/passwd was written into it.
    expect(st("etc").mtimeMs).toBe((T + 1) * 1000);
    expect(st("bin/su").mode & 0o7777).toBe(0o4755);
    expect(st("bin/sg").mode & 0o7777).toBe(0o2711);
    expect(st("tmp").mode & 0o7777).toBe(0o1777);
    expect(st("bin/sh").isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(r, "bin/sh"))).toBe("/bin/busybox");
    expect([st("bin/sh").uid, st("bin/sh").gid]).toEqual([7, 8]);
    expect(st("bin/su2").ino).toBe(st("bin/su").ino);
    expect(st("bin/su").nlink).toBe(2);
    expect(st("dev/null").isCharacterDevice()).toBe(true);
    expect(st("dev/null").rdev).toBe(0x103);
    expect(st("dev/null").mode & 0o7777).toBe(0o666);
    expect(st("dev/loop9").isBlockDevice()).toBe(true);
    expect(st("dev/loop9").rdev).toBe(0x709);
    expect(st("dev/loop9").gid).toBe(6);
    // glibc makedev: minor's high bits above the major's low 12.
    expect(st("dev/big").rdev).toBe(((70000 & ~0xff) << 12) | (300 << 8) | (70000 & 0xff));
    expect(st("run/fifo").isFIFO()).toBe(true);
    expect(st("run/fifo").mode & 0o7777).toBe(0o620);
    expect(st("empty").size).toBe(0);
    // Implicit parents get 0755.
    expect(st("dev").mode & 0o7777).toBe(0o755);
  });

  it("sets xattrs from PAX SCHILY.xattr records and fractional PAX mtimes", async (ctx) => {
    if (!userXattrsWork) ctx.skip("the temp dir's filesystem refuses user.* xattrs");
    const layer = await makeTar([
      { name: "d/", type: "directory", pax: { "SCHILY.xattr.user.dir": "on-dir" } },
      { name: "d/f", content: "x", pax: { "SCHILY.xattr.user.one": "1", "SCHILY.xattr.user.two": "zwei", mtime: `${T}.25` } },
      { name: "d/l", type: "symlink", linkname: "f", pax: { "SCHILY.xattr.trusted.berth": "on-link" } },
    ]);
    const r = root();
    await applyLayer([layer], r);
    expect(getXattr(join(r, "d/f"), "user.one")?.toString()).toBe("1");
    expect(getXattr(join(r, "d/f"), "user.two")?.toString()).toBe("zwei");
    expect(getXattr(join(r, "d"), "user.dir")?.toString()).toBe("on-dir");
    // lsetxattr: on the link itself (user.* is not allowed on symlinks, trusted.* is for root).
    expect(getXattr(join(r, "d/l"), "trusted.berth")?.toString()).toBe("on-link");
    expect(getXattr(join(r, "d/f"), "trusted.berth")).toBeUndefined();
    expect(lstatSync(join(r, "d/f")).mtimeMs).toBe(T * 1000 + 250);
  });

  it("replaces an existing path of another type, and keeps an existing directory while updating it", async () => {
    const r = root();
    await applyLayer(
      [
        await makeTar([
          { name: "f", content: "file" },
          { name: "d/", type: "directory" },
          { name: "d/child", content: "c" },
          { name: "l", type: "symlink", linkname: "f" },
          { name: "g", content: "g" },
          { name: "keep/", type: "directory", mode: 0o755 },
          { name: "keep/child", content: "kept" },
          { name: "ld", type: "symlink", linkname: "keep" },
        ]),
      ],
      r,
    );
    await applyLayer(
      [
        await makeTar([
          { name: "f/", type: "directory" },
          { name: "f/inner", content: "inner" },
          { name: "d", content: "now a file" },
          { name: "l", content: "not a link" },
          { name: "g", type: "symlink", linkname: "f/inner" },
          { name: "keep/", type: "directory", mode: 0o700, uid: 42, mtime: at(T + 9) },
          // A directory entry over a symlink to a directory replaces the link.
          { name: "ld/", type: "directory", mode: 0o711 },
        ]),
      ],
      r,
    );
    expect(describeTree(r, { mtimes: false })).toMatchObject({
      f: expect.stringMatching(/^dir /),
      "f/inner": expect.stringMatching(/^file /),
      d: expect.stringMatching(/^file /),
      l: expect.stringMatching(/^file /),
      g: expect.stringMatching(/^symlink .* -> f\/inner$/),
      keep: "dir mode=700 owner=42:0",
      "keep/child": expect.stringMatching(/^file /),
      ld: "dir mode=711 owner=0:0",
    });
    expect(existsSync(join(r, "d/child"))).toBe(false);
    expect(readdirSync(join(r, "ld"))).toEqual([]);
    expect(lstatSync(join(r, "keep")).mtimeMs).toBe((T + 9) * 1000);
  });

  it("writes a file named twice in one layer, and links to one, with the last entry's data and metadata", async () => {
    const r = root();
    // Bigger than one write batch, so that some of its data goes out before the next entries are read.
    const big = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
    await applyLayer(
      [
        await makeTar([
          { name: "dup", content: "first, longer", mode: 0o600, uid: 1 },
          { name: "big", content: big, mode: 0o751, uid: 7, gid: 8 },
          { name: "dup", content: "second", mode: 0o640, uid: 2, mtime: at(T + 4) },
          // A hard link's metadata goes on the shared inode after the file's own.
          { name: "hl", type: "link", linkname: "big", mode: 0o700, uid: 3, gid: 4, mtime: at(T + 5) },
        ]),
      ],
      r,
    );
    expect(readFileSync(join(r, "dup"), "utf8")).toBe("second");
    expect(describeTree(r)).toMatchObject({ dup: expect.stringMatching(/^file mode=640 owner=2:0/) });
    expect(readFileSync(join(r, "big")).equals(big)).toBe(true);
    const stats = lstatSync(join(r, "big"));
    expect([stats.mode & 0o7777, stats.uid, stats.gid, stats.nlink, stats.mtimeMs]).toEqual([0o700, 3, 4, 2, (T + 5) * 1000]);
    expect(lstatSync(join(r, "dup")).mtimeMs).toBe((T + 4) * 1000);
  });

  it("links to files already in the root, by relative or absolute name", async () => {
    const r = root();
    await applyLayer([await makeTar([{ name: "usr/bin/python3.11", content: "py" }])], r);
    await applyLayer(
      [
        await makeTar([
          { name: "usr/bin/python3", type: "link", linkname: "usr/bin/python3.11" },
          { name: "python", type: "link", linkname: "/usr/bin/python3.11" },
          // A link to itself keeps the file.
          { name: "usr/bin/python3.11", type: "link", linkname: "./usr/bin/python3.11" },
        ]),
      ],
      r,
    );
    const ino = lstatSync(join(r, "usr/bin/python3.11")).ino;
    expect(lstatSync(join(r, "usr/bin/python3")).ino).toBe(ino);
    expect(lstatSync(join(r, "python")).ino).toBe(ino);
    expect(lstatSync(join(r, "python")).nlink).toBe(3);
  });

  it("ignores entries naming the root itself and global PAX headers", async () => {
    const r = root();
    const global = await makeTar([{ name: "pax_global_header", content: "18 path=ignored/a\n" }]);
    // tar-stream cannot write a global header: turn that file entry into one.
    setTypeflag(global, 0, "g");
    const layer = Buffer.concat([
      global.subarray(0, 1024),
      await makeTar([
        { name: "./", type: "directory", mode: 0o700 },
        { name: "./a", content: "a" },
      ]),
    ]);
    await applyLayer([layer], r);
    expect(lstatSync(r).mode & 0o7777).not.toBe(0o700);
    expect(readdirSync(r)).toEqual(["a"]);
  });
});

describe("applyLayer: archives from GNU tar", () => {
  const tmp = useTempDir();

  it.each(["gnu", "posix", "ustar"])("reads --format=%s like the tree it was made from", async (format) => {
    const src = join(tmp(), "src");
    mkdirSync(join(src, "deep/".repeat(30)), { recursive: true });
    writeFileSync(join(src, "deep/".repeat(30), `${"long".repeat(30)}.txt`), "long path");
    writeFileSync(join(src, "file"), Buffer.alloc(5000, 1), { mode: 0o640 });
    symlinkSync("file", join(src, "link"));
    linkSync(join(src, "file"), join(src, "hard"));
    execFileSync("mkfifo", [join(src, "fifo")]);
    utimesSync(join(src, "file"), T, T);
    if (userXattrsWork && format === "posix") setXattr(join(src, "file"), "user.gnu", Buffer.from("tar"));
    const names = format === "ustar" ? ["file", "link", "hard", "fifo"] : ["."];
    const archive = execFileSync("tar", ["-C", src, `--format=${format}`, "--xattrs", "--xattrs-include=user.*", "-cf", "-", ...names], {
      maxBuffer: 1 << 26,
    });
    const r = join(tmp(), "r");
    mkdirSync(r);
    expect(await applyLayer([archive], r)).toEqual({ digest: sha256(archive), size: archive.length });
    const expected = describeTree(src);
    const actual = describeTree(r);
    if (format === "ustar") for (const key of Object.keys(expected)) if (!names.includes(key)) delete expected[key];
    expect(actual).toEqual(expected);
  });
});

describe("applyLayer: whiteouts", () => {
  const tmp = useTempDir();

  async function twoLayers(second: Parameters<typeof makeTar>[0]): Promise<string> {
    const r = join(tmp(), "root");
    mkdirSync(r);
    await applyLayer(
      [
        await makeTar([
          { name: "a/", type: "directory" },
          { name: "a/f1", content: "1" },
          { name: "a/f2", content: "2" },
          { name: "a/sub/x", content: "x" },
          { name: "b/", type: "directory" },
          { name: "b/old", content: "old" },
          { name: "b/olddir/deep", content: "deep" },
          { name: "c", content: "c" },
          { name: "d/", type: "directory" },
          { name: "d/old", content: "old" },
          { name: "d/sub/old", content: "old" },
        ]),
      ],
      r,
    );
    await applyLayer([await makeTar(second)], r);
    return r;
  }

  it("removes whited-out files and directories from the layers below and does not create the markers", async () => {
    const r = await twoLayers([
      { name: "a/.wh.f1", content: "" },
      { name: "a/.wh.sub", content: "" },
      { name: ".wh.c", content: "" },
      { name: "a/.wh.missing", content: "" },
      { name: "a/new", content: "n" },
      { name: "x/y/.wh.z", content: "" },
    ]);
    expect(readdirSync(join(r, "a")).sort()).toEqual(["f2", "new"]);
    expect(existsSync(join(r, "c"))).toBe(false);
    // As containerd, a whiteout's missing parents are created.
    expect(readdirSync(join(r, "x/y"))).toEqual([]);
  });

  it("makes opaque directories hide everything below them, whatever the marker's place in the tar", async () => {
    const r = await twoLayers([
      // Marker first: later entries are kept.
      { name: "d/", type: "directory" },
      { name: "d/.wh..wh..opq", content: "" },
      { name: "d/new", content: "new" },
      { name: "d/sub/added", content: "added" },
      // Marker after this layer's entries: they are kept too.
      { name: "b/added", content: "added" },
      { name: "b/olddir/fresh", content: "fresh" },
      { name: "b/.wh..wh..opq", content: "" },
    ]);
    expect(readdirSync(join(r, "d")).sort()).toEqual(["new", "sub"]);
    expect(readdirSync(join(r, "d/sub"))).toEqual(["added"]);
    expect(readdirSync(join(r, "b")).sort()).toEqual(["added", "olddir"]);
    expect(readdirSync(join(r, "b/olddir"))).toEqual(["fresh"]);
    expect(readdirSync(join(r, "a")).sort()).toEqual(["f1", "f2", "sub"]);
  });

  it("applies a whiteout to the layers below only, even when it follows this layer's entry", async () => {
    const r = await twoLayers([
      { name: "a/sub/mine", content: "mine" },
      { name: "a/.wh.sub", content: "" },
      { name: "c2", content: "c2" },
      { name: ".wh.c2", content: "" },
    ]);
    expect(readdirSync(join(r, "a/sub"))).toEqual(["mine"]);
    expect(readFileSync(join(r, "c2"), "utf8")).toBe("c2");
  });

  it("ignores other .wh..wh. entries and rejects whiteouts of . and ..", async () => {
    const r = join(tmp(), "root");
    mkdirSync(r);
    // No layer can create it (it would be a whiteout), but a root may have it.
    writeFileSync(join(r, ".wh.plnk"), "");
    await applyLayer([await makeTar([{ name: ".wh..wh.plnk", content: "" }])], r);
    expect(readdirSync(r)).toEqual([".wh.plnk"]);
    for (const name of ["a/.wh..", "a/.wh.", ".wh.."]) {
      expect(await kindOfFailure(async () => applyLayer([await makeTar([{ name, content: "" }])], r))).toBe("InvalidArgument");
    }
  });
});

describe("applyLayer: streams, compression and digests", () => {
  const tmp = useTempDir();
  const entries = () =>
    makeTar([
      { name: "a/", type: "directory", mode: 0o700 },
      { name: "a/big", content: Buffer.alloc(300_000, 7) },
      { name: "a/small", content: "small" },
      { name: "a/link", type: "symlink", linkname: "small" },
      { name: `a/${"long-name-".repeat(20)}`, content: "a name longer than 100 bytes" },
      { name: "a/ünïcödé", content: "non-ascii name" },
    ]);

  it("gives the same tree and diff ID for plain, gzip and zstd layers, from iterables and Node streams", async () => {
    const plain = await entries();
    const variants = {
      plain,
      gzip: zlib.gzipSync(plain),
      zstd: zlib.zstdCompressSync(plain),
    };
    expect(detectCompression(variants.gzip)).toBe("gzip");
    expect(detectCompression(variants.zstd)).toBe("zstd");
    expect(detectCompression(plain)).toBe("none");
    const trees: Record<string, string>[] = [];
    for (const [name, blob] of Object.entries(variants)) {
      const r = join(tmp(), name);
      mkdirSync(r);
      const file = join(tmp(), `${name}.blob`);
      writeFileSync(file, blob);
      // A Node stream in small chunks, to cross header and body boundaries.
      const applied = await applyLayer(createReadStream(file, { highWaterMark: 333 }), r, {
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      });
      expect(applied).toEqual({ digest: sha256(plain), size: plain.length });
      trees.push(describeTree(r));
      expect(await collect(decompressStream(Readable.from([blob])))).toEqual(plain);
    }
    expect(trees[1]).toEqual(trees[0]);
    expect(trees[2]).toEqual(trees[0]);
    expect(Object.keys(trees[0] ?? {})).toContain(`a/${"long-name-".repeat(20)}`);
    expect(Object.keys(trees[0] ?? {})).toContain("a/ünïcödé");
  });

  it("hashes everything after the end-of-archive marker too", async () => {
    const plain = await entries();
    const withGarbage = Buffer.concat([plain, Buffer.from("trailing garbage, not a multiple of 512")]);
    const r = join(tmp(), "r");
    mkdirSync(r);
    expect(await applyLayer(Readable.from([withGarbage]), r)).toEqual({ digest: sha256(withGarbage), size: withGarbage.length });
    expect(readFileSync(join(r, "a/small"), "utf8")).toBe("small");
    const gz = zlib.gzipSync(withGarbage);
    const r2 = join(tmp(), "r2");
    mkdirSync(r2);
    expect(await applyLayer([gz], r2)).toEqual({ digest: sha256(withGarbage), size: withGarbage.length });
  });

  it("accepts a tar without end-of-archive blocks, and rejects a truncated one", async () => {
    const plain = await entries();
    const r = join(tmp(), "r");
    mkdirSync(r);
    const noTrailer = plain.subarray(0, plain.length - 1024);
    expect(await applyLayer([noTrailer], r)).toEqual({ digest: sha256(noTrailer), size: noTrailer.length });
    expect(await kindOfFailure(() => applyLayer([plain.subarray(0, 1500)], r))).toBe("InvalidArgument");
    expect(await kindOfFailure(() => applyLayer([zlib.gzipSync(plain).subarray(0, 100)], r))).toBe("InvalidArgument");
    expect(await kindOfFailure(() => applyLayer([Buffer.alloc(700, 1)], r))).toBe("InvalidArgument");
  });

  it("refuses encrypted and non-layer media types, and honours an aborted signal", async () => {
    const plain = await entries();
    const r = join(tmp(), "r");
    mkdirSync(r);
    for (const mediaType of ["application/vnd.oci.image.layer.v1.tar+gzip+encrypted", "application/vnd.oci.image.config.v1+json"]) {
      expect(await kindOfFailure(() => applyLayer([plain], r, { mediaType }))).toBe("NotImplemented");
    }
    for (const mediaType of ["application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"]) {
      expect((await applyLayer([plain], r, { mediaType })).digest).toBe(sha256(plain));
    }
    const controller = new AbortController();
    controller.abort();
    expect(await kindOfFailure(() => applyLayer([plain], r, { signal: controller.signal }))).toBe("Canceled");
    expect(await kindOfFailure(() => applyLayer([plain], join(r, "missing")))).toBe("InvalidArgument");
  });

  it("stops with Canceled when the signal fires mid-stream", async () => {
    const plain = await entries();
    const r = join(tmp(), "r");
    mkdirSync(r);
    const controller = new AbortController();
    async function* slow() {
      yield plain.subarray(0, 2048);
      controller.abort();
      yield plain.subarray(2048);
    }
    expect(await kindOfFailure(() => applyLayer(slow(), r, { signal: controller.signal }))).toBe("Canceled");
  });

  it("rejects entries that do not fit the tree: below a file, or a hard link to a directory", async () => {
    const r = join(tmp(), "r");
    mkdirSync(r);
    await applyLayer(
      [
        await makeTar([
          { name: "file", content: "f" },
          { name: "dir/", type: "directory" },
        ]),
      ],
      r,
    );
    expect(await kindOfFailure(async () => applyLayer([await makeTar([{ name: "file/below", content: "x" }])], r))).toBe("InvalidArgument");
    expect(await kindOfFailure(async () => applyLayer([await makeTar([{ name: "hl", type: "link", linkname: "dir" }])], r))).toBe("InvalidArgument");
    expect(await kindOfFailure(async () => applyLayer([await makeTar([{ name: "hl", type: "link", linkname: "nope" }])], r))).toBe("InvalidArgument");
  });
});
