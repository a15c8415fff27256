import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyLayer } from "@berth/diff";
import { beforeEach, describe, expect, it } from "vitest";
import { type Entry, describeTree, failureOf, makeTar, useTempDir } from "./fixtures.js";

/**
 * The root sits three levels below the temp dir, beside a sentinel directory; whatever a hostile
 * layer does, nothing outside the root may change.
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
    mkdirSync(sentinel);
    writeFileSync(join(sentinel, "passwd"), "precious\n", { mode: 0o600 });
    // Everything under the temp dir but the root and what it holds.
    outside = () => Object.fromEntries(Object.entries(describeTree(tmp())).filter(([p]) => p !== "a/b/root" && !p.startsWith("a/b/root/")));
  });

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
  }

  it("rejects names that climb out with ..", async () => {
    await expectRejected([{ name: "../escape", content: "x" }], '"../escape"');
    await expectRejected([{ name: "a/../../escape", content: "x" }], '"a/../../escape"');
    await expectRejected([{ name: "ok", content: "fine" }, { name: "x/../../../../sentinel/passwd", content: "pwned" }], "sentinel/passwd");
    await expectRejected([{ name: "../", type: "directory" }], '"../"');
  });

  it("rejects a path through a layer symlink whose relative target climbs out", async () => {
    await expectRejected(
      [
        { name: "evil", type: "symlink", linkname: "../../.." },
        { name: "evil/x", content: "x" },
      ],
      '"evil/x"',
    );
    await expectRejected(
      [
        { name: "d/evil", type: "symlink", linkname: "../../../sentinel" },
        { name: "d/evil/passwd", content: "pwned" },
      ],
      '"d/evil/passwd"',
    );
  });

  it("resolves absolute symlinks on the way inside the root (chroot semantics), never on the host", async () => {
    await expectContained([
      { name: "evil", type: "symlink", linkname: "/" },
      { name: "evil/etc/x", content: "inside" },
      { name: "toSentinel", type: "symlink", linkname: sentinel },
      { name: "toSentinel/passwd", content: "inside too" },
      // A whiteout and an opaque marker through the link act inside the root as well.
      { name: "toSentinel/.wh.passwd", content: "" },
      { name: "toSentinel/.wh..wh..opq", content: "" },
    ]);
    expect(readFileSync(join(root, "etc/x"), "utf8")).toBe("inside");
    expect(lstatSync(join(root, sentinel)).isDirectory()).toBe(true);
  });

  it("resolves symlinks already in the root inside it too", async () => {
    symlinkSync(sentinel, join(root, "lower-abs"));
    symlinkSync("../../../sentinel", join(root, "lower-rel"));
    await expectContained([{ name: "lower-abs/passwd", content: "inside" }]);
    expect(readFileSync(join(root, sentinel, "passwd"), "utf8")).toBe("inside");
    await expectRejected([{ name: "lower-rel/passwd", content: "pwned" }], '"lower-rel/passwd"');
  });

  it("follows a directory the layer replaced by a symlink for the entries after it, inside the root", async () => {
    await expectContained([
      { name: "d/x", content: "first" },
      { name: "d", type: "symlink", linkname: "/elsewhere" },
      { name: "d/y", content: "through the link" },
    ]);
    expect(lstatSync(join(root, "d")).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(root, "elsewhere/y"), "utf8")).toBe("through the link");
    await expectRejected(
      [
        { name: "e/x", content: "first" },
        { name: "e", type: "symlink", linkname: "../../../sentinel" },
        { name: "e/passwd", content: "pwned" },
      ],
      '"e/passwd"',
    );
  });

  it("replaces a symlink at the entry's own path instead of writing through it", async () => {
    symlinkSync(join(sentinel, "passwd"), join(root, "passwd"));
    await expectContained([{ name: "passwd", content: "replaced", mode: 0o777 }]);
    expect(lstatSync(join(root, "passwd")).isFile()).toBe(true);
    expect(lstatSync(join(sentinel, "passwd")).mode & 0o777).toBe(0o600);
  });

  it("rejects hard links to targets outside the root", async () => {
    await expectRejected([{ name: "hl", type: "link", linkname: "../../../sentinel/passwd" }], '"hl"');
    await expectRejected([{ name: "hl", type: "link", linkname: "a/../../../../etc/passwd" }], '"hl"');
    // An absolute target names a path in the root, which does not have it.
    await expectRejected([{ name: "hl", type: "link", linkname: join(sentinel, "passwd") }], '"hl"');
    // Nor through a symlink, of the layer or relative.
    await expectRejected(
      [
        { name: "s", type: "symlink", linkname: sentinel },
        { name: "hl", type: "link", linkname: "s/passwd" },
      ],
      '"hl"',
    );
    await expectRejected(
      [
        { name: "s", type: "symlink", linkname: "../../../sentinel" },
        { name: "hl", type: "link", linkname: "s/passwd" },
      ],
      '"hl"',
    );
    expect(lstatSync(join(sentinel, "passwd")).nlink).toBe(1);
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
    await expectContained([{ name: "dev/sda", type: "block-device", devmajor: 8, devminor: 0, mode: 0o600 }]);
    expect(lstatSync(join(root, "dev/sda")).isBlockDevice()).toBe(true);
    await expectRejected([{ name: "../dev-escape", type: "character-device", devmajor: 1, devminor: 3 }], '"../dev-escape"');
  });

  it("fails the whole apply on the first rejected entry, with nothing written outside", async () => {
    await expectRejected(
      [
        { name: "first", content: "1" },
        { name: "link", type: "symlink", linkname: "/../.." },
        { name: "link/x", content: "x" },
        { name: "never", content: "n" },
      ],
      '"link/x"',
    );
    expect(readFileSync(join(root, "first"), "utf8")).toBe("1");
    expect(() => lstatSync(join(root, "never"))).toThrow();
  });
});
