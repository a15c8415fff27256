import { lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyLayer } from "@berth/diff";
import { beforeEach, describe, expect, it } from "vitest";
import { type Entry, describeTree, failureOf, makeTar, useTempDir } from "./fixtures.js";

/**
 * The root sits three levels below the temp dir, beside a sentinel directory; whatever a hostile
 * layer does, nothing outside the root may change. Like containerd's archive.Apply (fs.RootPath),
 * every path resolves as if the root were `/`: a `..` or a link that climbs past it stays at it.
 */
describe("applyLayer: hostile layers", () => {
  const tmp = useTempDir();
  let root = "";
  let sentinel = "";
  let outside: () => Record<string, string>;

  beforeEach(() => {
    root = join(tmp(), "a", "b", "root");
    mkdirSync(root, { recursive: true });
    sentinel = join(tmp(), "sentinel");
    mkdirSync(join(sentinel, "b"), { recursive: true });
    writeFileSync(join(sentinel, "passwd"), "precious\n", { mode: 0o600 });
    utimesSync(join(sentinel, "b"), 1_000_000, 1_000_000);
    // Everything under the temp dir but the root and what it holds.
    outside = () => Object.fromEntries(Object.entries(describeTree(tmp())).filter(([p]) => p !== "a/b/root" && !p.startsWith("a/b/root/")));
  });

  const inRoot = (path: string) => readFileSync(join(root, path), "utf8");

  async function expectRejected(entries: Entry[], naming: string): Promise<void> {
    const before = outside();
    const failure = await failureOf(async () => applyLayer([await makeTar(entries)], root));
    expect(failure.kind).toBe("InvalidArgument");
    expect(failure.message).toContain(naming);
    expect(outside()).toEqual(before);
    expect(readFileSync(join(sentinel, "passwd"), "utf8")).toBe("precious\n");
  }

  async function expectContained(entries: Entry[]): Promise<void> {
    const before = outside();
    await applyLayer([await makeTar(entries)], root);
    expect(outside()).toEqual(before);
    expect(readFileSync(join(sentinel, "passwd"), "utf8")).toBe("precious\n");
  }

  it("keeps names whose .. climbs past the root at the root", async () => {
    await expectContained([
      { name: "../escape", content: "1" },
      { name: "a/../../escape2", content: "2" },
      { name: "x/../../../../sentinel/passwd", content: "3" },
      { name: "/../../abs", content: "4" },
      // Naming the root itself: ignored.
      { name: "../", type: "directory", mode: 0o700 },
      { name: "../..", type: "directory", mode: 0o700 },
    ]);
    expect([inRoot("escape"), inRoot("escape2"), inRoot("sentinel/passwd"), inRoot("abs")]).toEqual(["1", "2", "3", "4"]);
    expect(lstatSync(root).mode & 0o777).toBe(0o755);
  });

  it("resolves a layer symlink whose relative target climbs past the root inside it", async () => {
    await expectContained([
      { name: "a", type: "symlink", linkname: "../../../../etc" },
      { name: "a/passwd", content: "through a" },
      { name: "d/evil", type: "symlink", linkname: "../../../sentinel" },
      { name: "d/evil/passwd", content: "through d/evil" },
      { name: "d/deeper", type: "symlink", linkname: "x/../../../../../sentinel/b" },
      { name: "d/deeper/file", content: "through d/deeper" },
    ]);
    expect(readlinkSync(join(root, "a"))).toBe("../../../../etc");
    expect(inRoot("etc/passwd")).toBe("through a");
    expect(inRoot("sentinel/passwd")).toBe("through d/evil");
    expect(inRoot("sentinel/b/file")).toBe("through d/deeper");
  });

  it("resolves absolute symlinks on the way inside the root, never on the host", async () => {
    await expectContained([
      { name: "evil", type: "symlink", linkname: "/" },
      { name: "evil/etc/x", content: "inside" },
      { name: "toSentinel", type: "symlink", linkname: sentinel },
      { name: "toSentinel/passwd", content: "inside too" },
      // A whiteout and an opaque marker through the link act inside the root as well.
      { name: "toSentinel/.wh.passwd", content: "" },
      { name: "toSentinel/.wh..wh..opq", content: "" },
    ]);
    expect(inRoot("etc/x")).toBe("inside");
    expect(lstatSync(join(root, sentinel)).isDirectory()).toBe(true);
  });

  it("resolves symlinks already in the root inside it too", async () => {
    symlinkSync(sentinel, join(root, "lower-abs"));
    symlinkSync("../../../sentinel", join(root, "lower-rel"));
    await expectContained([
      { name: "lower-abs/passwd", content: "inside" },
      { name: "lower-rel/passwd", content: "inside, relative" },
    ]);
    expect(inRoot(join(sentinel, "passwd"))).toBe("inside");
    expect(inRoot("sentinel/passwd")).toBe("inside, relative");
  });

  it("follows a directory the layer replaced by a symlink for the entries after it, inside the root", async () => {
    await expectContained([
      { name: "d/x", content: "first" },
      { name: "d", type: "symlink", linkname: "/elsewhere" },
      { name: "d/y", content: "through the link" },
      { name: "e/x", content: "first" },
      { name: "e", type: "symlink", linkname: "../../../sentinel" },
      { name: "e/passwd", content: "through e" },
    ]);
    expect(lstatSync(join(root, "d")).isSymbolicLink()).toBe(true);
    expect(inRoot("elsewhere/y")).toBe("through the link");
    expect(inRoot("sentinel/passwd")).toBe("through e");
  });

  it("forgets resolved parents when a symlink on their way is replaced mid-layer", async () => {
    await expectContained([
      { name: "l", type: "symlink", linkname: "/inside" },
      { name: "l/x", content: "x" },
      { name: "l", type: "symlink", linkname: "../../../sentinel" },
      { name: "l/passwd", content: "through the new l" },
      { name: "p/q/f1", content: "f1" },
      { name: ".wh.p", content: "" },
      { name: "p", type: "symlink", linkname: "../../.." },
      { name: "p/q/f2", content: "f2" },
      { name: "p/sentinel/b/f3", content: "f3" },
    ]);
    expect(inRoot("inside/x")).toBe("x");
    expect(inRoot("sentinel/passwd")).toBe("through the new l");
    expect(inRoot("q/f2")).toBe("f2");
    expect(() => lstatSync(join(root, "q/f1"))).toThrow();
    expect(inRoot("sentinel/b/f3")).toBe("f3");
  });

  it("sets a directory's times where its name leads at the end, inside the root", async () => {
    // a/b/ is written, then a becomes a link that would lead to the sentinel's b on the host.
    await expectContained([
      { name: "a/b/", type: "directory", mtime: new Date(1_500_000_000_000) },
      { name: "a", type: "symlink", linkname: "../../../sentinel" },
      { name: "sentinel/b/", type: "directory", mtime: new Date(1_400_000_000_000) },
      { name: "c/d/", type: "directory", mtime: new Date(1_300_000_000_000) },
      { name: "c", type: "symlink", linkname: sentinel },
    ]);
    expect(lstatSync(join(sentinel, "b")).mtimeMs).toBe(1_000_000_000);
    // Both a/b and sentinel/b name <root>/sentinel/b: the later entry's time wins.
    expect(lstatSync(join(root, "sentinel/b")).mtimeMs).toBe(1_400_000_000_000);
  });

  it("replaces a symlink at the entry's own path instead of writing through it", async () => {
    symlinkSync(join(sentinel, "passwd"), join(root, "passwd"));
    await expectContained([{ name: "passwd", content: "replaced", mode: 0o777 }]);
    expect(lstatSync(join(root, "passwd")).isFile()).toBe(true);
    expect(lstatSync(join(sentinel, "passwd")).mode & 0o777).toBe(0o600);
  });

  it("links hard links to targets inside the root only", async () => {
    await expectRejected([{ name: "hl", type: "link", linkname: "../../../sentinel/passwd" }], '"hl"');
    await expectRejected([{ name: "hl", type: "link", linkname: join(sentinel, "passwd") }], '"hl"');
    await expectRejected(
      [
        { name: "s", type: "symlink", linkname: sentinel },
        { name: "hl", type: "link", linkname: "s/passwd" },
      ],
      '"hl"',
    );
    // Climbing targets name the root's own files.
    await expectContained([
      { name: "sentinel/passwd", content: "the root's" },
      { name: "hl1", type: "link", linkname: "../../../sentinel/passwd" },
      { name: "hl2", type: "link", linkname: "a/../../../../etc/../sentinel/passwd" },
      { name: "rel", type: "symlink", linkname: "../../../sentinel" },
      { name: "hl3", type: "link", linkname: "rel/passwd" },
      { name: "abs", type: "symlink", linkname: "/sentinel" },
      { name: "hl4", type: "link", linkname: "abs/passwd" },
    ]);
    const inode = lstatSync(join(root, "sentinel/passwd")).ino;
    expect(["hl1", "hl2", "hl3", "hl4"].map((name) => lstatSync(join(root, name)).ino)).toEqual([inode, inode, inode, inode]);
    expect(lstatSync(join(sentinel, "passwd")).nlink).toBe(1);
  });

  it("resolves a hard link target's .. after a symlink from where the symlink leads, as containerd", async () => {
    await expectContained([
      { name: "t/u/", type: "directory" },
      { name: "t/x", content: "t/x" },
      { name: "s", type: "symlink", linkname: "/t/u" },
      { name: "hl", type: "link", linkname: "s/../x" },
    ]);
    expect(lstatSync(join(root, "hl")).ino).toBe(lstatSync(join(root, "t/x")).ino);
  });

  it("does not chmod through a hard link to a symlink", async () => {
    await expectContained([
      { name: "s", type: "symlink", linkname: join(sentinel, "passwd") },
      { name: "h", type: "link", linkname: "s", mode: 0o777 },
    ]);
    expect(lstatSync(join(root, "h")).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(sentinel, "passwd")).mode & 0o777).toBe(0o600);
  });

  it("keeps device nodes inside the root", async () => {
    await expectContained([
      { name: "dev/sda", type: "block-device", devmajor: 8, devminor: 0, mode: 0o600 },
      { name: "../dev-escape", type: "character-device", devmajor: 1, devminor: 3 },
    ]);
    expect(lstatSync(join(root, "dev/sda")).isBlockDevice()).toBe(true);
    expect(lstatSync(join(root, "dev-escape")).isCharacterDevice()).toBe(true);
  });

  it("applies whiteouts and opaque markers through climbing symlinks inside the root", async () => {
    mkdirSync(join(root, "sentinel/sub"), { recursive: true });
    writeFileSync(join(root, "sentinel/passwd"), "lower");
    writeFileSync(join(root, "sentinel/sub/file"), "lower");
    await expectContained([
      { name: "w", type: "symlink", linkname: "../../../sentinel" },
      { name: "w/.wh.passwd", content: "" },
      { name: "v", type: "symlink", linkname: "../../../../sentinel/sub" },
      { name: "v/.wh..wh..opq", content: "" },
      { name: "../.wh.sentinel", content: "" },
    ]);
    expect(() => lstatSync(join(root, "sentinel"))).toThrow();
  });

  it("rejects invalid whiteouts and symlink loops, and fails the whole apply on the first rejected entry", async () => {
    await expectRejected([{ name: "x/.wh...", content: "" }], "invalid whiteout name");
    await expectRejected(
      [
        { name: "loop", type: "symlink", linkname: "loop" },
        { name: "loop/x", content: "x" },
      ],
      "too many levels of symbolic links",
    );
    await expectRejected(
      [
        { name: "first", content: "1" },
        { name: "link", type: "symlink", linkname: "/../.." },
        { name: "hl", type: "link", linkname: "link/missing" },
        { name: "never", content: "n" },
      ],
      '"hl"',
    );
    expect(inRoot("first")).toBe("1");
    expect(() => lstatSync(join(root, "never"))).toThrow();
  });
});
