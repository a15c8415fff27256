import { chmod, chown, cp, lstat, mkdir, readFile, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Harness, type Tree, codeOfFailure, writeFiles } from "./harness.js";

/** rename(2), or copy and remove as mv(1) does when overlayfs refuses to rename a lower directory (EXDEV). */
async function move(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    await cp(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    await rm(from, { recursive: true });
  }
}

const file = (content: string, mode = "644") => `file ${mode} ${content}`;
const dir = (mode = "755") => `dir ${mode}`;

/** What mounting snapshots shows: layers stack, children never change parents, views are read-only. */
export function describeFilesystems(harness: () => Harness): void {
  describe("filesystems", () => {
    it("prepares an empty writable root (mode 0755) whose files stay across mounts and commit", async () => {
      const h = harness();
      const key = h.key("active");
      const mounts = await h.prepare(key);
      expect(mounts.length).toBeGreaterThan(0);
      expect(await h.snapshotter.mounts(h.context, key)).toEqual(mounts);
      await h.mounted(mounts, async (root) => {
        expect(await readdir(root)).toEqual([]);
        expect((await lstat(root)).mode & 0o7777).toBe(0o755);
        await writeFiles(root, { "etc/": "", "etc/hostname": "berth\n", "bin/": "", "bin/sh": "#!" });
        await symlink("sh", join(root, "bin/bash"));
      });
      const expected: Tree = { ".": dir(), bin: dir(), "bin/bash": "link -> sh", "bin/sh": file("#!"), etc: dir(), "etc/hostname": file("berth\n") };
      expect(await h.tree(key), "mounted again").toEqual(expected);
      const name = h.key("committed");
      await h.commit(name, key);
      expect(await h.committedTree(name)).toEqual(expected);
      expect(await h.tree(await h.prepare(h.key("child"), name)), "a child's tree").toEqual(expected);
    });

    it("keeps a child's deletions, renames, chmods and edits out of its parent and its siblings", async () => {
      const h = harness();
      const base = await h.layer("", (root) => writeFiles(root, { a: "A", b: "B", c: "C", "d/": "", "d/x": "X", "e/": "", "e/y": "Y", "f/": "" }));
      const before = await h.committedTree(base);
      expect(before).toEqual({ ".": dir(), a: file("A"), b: file("B"), c: file("C"), d: dir(), "d/x": file("X"), e: dir(), "e/y": file("Y"), f: dir() });
      const childKey = h.key("child");
      await h.mounted(await h.prepare(childKey, base), async (root) => {
        await rm(join(root, "a"));
        await move(join(root, "b"), join(root, "b2"));
        await move(join(root, "d"), join(root, "d2"));
        await chmod(join(root, "c"), 0o600);
        await chmod(join(root, "f"), 0o700);
        await writeFile(join(root, "e/y"), "Y2");
        await writeFiles(root, { "e/z": "Z", new: "N" });
      });
      const changed: Tree = {
        ".": dir(),
        b2: file("B"),
        c: file("C", "600"),
        d2: dir(),
        "d2/x": file("X"),
        e: dir(),
        "e/y": file("Y2"),
        "e/z": file("Z"),
        f: dir("700"),
        new: file("N"),
      };
      expect(await h.tree(childKey)).toEqual(changed);
      const child = h.key("child-committed");
      await h.commit(child, childKey);
      expect(await h.committedTree(child)).toEqual(changed);
      expect(await h.committedTree(base), "the parent").toEqual(before);
      expect(await h.tree(await h.prepare(h.key("sibling"), base)), "a sibling").toEqual(before);
    });

    it("gives views that refuse writes (EROFS), with no parent, one parent or several", async () => {
      const h = harness();
      const base = await h.layer("", (root) => writeFiles(root, { f: "1" }));
      const top = await h.layer(base, (root) => writeFiles(root, { g: "2" }));
      for (const parent of ["", base, top]) {
        const key = h.key("view");
        const mounts = await h.view(key, parent);
        expect(await h.snapshotter.mounts(h.context, key)).toEqual(mounts);
        await h.mounted(mounts, async (root) => {
          expect(await codeOfFailure(() => writeFile(join(root, "new"), "x")), `create in a view of "${parent}"`).toBe("EROFS");
          expect(await codeOfFailure(() => mkdir(join(root, "newdir"))), `mkdir in a view of "${parent}"`).toBe("EROFS");
          if (parent === "") return;
          expect(await codeOfFailure(() => writeFile(join(root, "f"), "changed")), `write in a view of "${parent}"`).toBe("EROFS");
          expect(await codeOfFailure(() => rm(join(root, "f"))), `unlink in a view of "${parent}"`).toBe("EROFS");
          expect(await codeOfFailure(() => chmod(join(root, "f"), 0o600)), `chmod in a view of "${parent}"`).toBe("EROFS");
        });
        expect((await h.stat(key)).kind).toBe("view");
      }
      expect(await h.committedTree(base)).toEqual({ ".": dir(), f: file("1") });
      expect(await h.committedTree(top)).toEqual({ ".": dir(), f: file("1"), g: file("2") });
    });

    it("merges a stack of layers, each view showing the stack up to its layer", async () => {
      const h = harness();
      const l1 = await h.layer("", (root) => writeFiles(root, { a: "1", b: "1", "dir/": "", "dir/x": "1", "keep/": "", "keep/k": "1" }));
      const l2 = await h.layer(l1, async (root) => {
        await writeFiles(root, { a: "2", c: "2" });
        await rm(join(root, "b"));
      });
      const l3 = await h.layer(l2, async (root) => {
        await writeFiles(root, { d: "3", "dir/y": "3" });
        await rm(join(root, "dir/x"));
      });
      const l4 = await h.layer(l3, (root) => writeFiles(root, { b: "4", a: "4" }));
      const t1: Tree = { ".": dir(), a: file("1"), b: file("1"), dir: dir(), "dir/x": file("1"), keep: dir(), "keep/k": file("1") };
      const t2: Tree = { ".": dir(), a: file("2"), c: file("2"), dir: dir(), "dir/x": file("1"), keep: dir(), "keep/k": file("1") };
      const t3: Tree = { ".": dir(), a: file("2"), c: file("2"), d: file("3"), dir: dir(), "dir/y": file("3"), keep: dir(), "keep/k": file("1") };
      const t4: Tree = { ...t3, a: file("4"), b: file("4") };
      expect(await h.committedTree(l1)).toEqual(t1);
      expect(await h.committedTree(l2)).toEqual(t2);
      expect(await h.committedTree(l3)).toEqual(t3);
      expect(await h.committedTree(l4)).toEqual(t4);
      expect(await h.tree(await h.prepare(h.key("top"), l4)), "an active snapshot on the stack").toEqual(t4);
      expect((await Promise.all([l1, l2, l3, l4].map((name) => h.stat(name)))).map((info) => info.parent)).toEqual(["", l1, l2, l3]);
      expect(await h.committedTree(l1), "the bottom layer, after its children were made").toEqual(t1);
    });

    it("hides what an upper layer removes, also a directory or file replaced by something new", async () => {
      const h = harness();
      const l1 = await h.layer("", async (root) => {
        await writeFiles(root, { "dir/": "", "dir/a": "a", "dir/sub/": "", "dir/sub/b": "b", file: "f", other: "o" });
        await symlink("other", join(root, "link"));
      });
      const l2 = await h.layer(l1, async (root) => {
        await rm(join(root, "dir"), { recursive: true });
        await writeFiles(root, { "dir/": "", "dir/new": "n" });
        await rm(join(root, "file"));
        await writeFiles(root, { "file/": "", "file/inside": "i" });
        await rm(join(root, "link"));
        await rm(join(root, "other"));
        await writeFiles(root, { link: "now a file" });
      });
      const t2: Tree = { ".": dir(), dir: dir(), "dir/new": file("n"), file: dir(), "file/inside": file("i"), link: file("now a file") };
      expect(await h.committedTree(l2)).toEqual(t2);
      const l3 = await h.layer(l2, async (root) => {
        await rm(join(root, "dir"), { recursive: true });
        await writeFiles(root, { other: "back" });
      });
      expect(await h.committedTree(l3)).toEqual({ ".": dir(), file: dir(), "file/inside": file("i"), link: file("now a file"), other: file("back") });
      expect(await h.committedTree(l1), "the bottom layer").toEqual({
        ".": dir(),
        dir: dir(),
        "dir/a": file("a"),
        "dir/sub": dir(),
        "dir/sub/b": file("b"),
        file: file("f"),
        link: "link -> other",
        other: file("o"),
      });
    });

    it.skipIf(process.getuid?.() !== 0)("carries owners, the root directory's too, to children", async () => {
      const h = harness();
      const base = await h.layer("", async (root) => {
        await writeFiles(root, { f: "x" });
        await chown(join(root, "f"), 42, 43);
        await chown(root, 1234, 5678);
      });
      await h.mounted(await h.prepare(h.key("child"), base), async (root) => {
        const [top, inner] = [await lstat(root), await lstat(join(root, "f"))];
        expect([top.uid, top.gid], "root directory").toEqual([1234, 5678]);
        expect([inner.uid, inner.gid]).toEqual([42, 43]);
      });
    });

    it("mounts a stack of 128 layers", async () => {
      const h = harness();
      let parent = "";
      for (let i = 0; i < 128; i++) parent = await h.layer(parent, (root) => writeFiles(root, { [`f${i}`]: String(i), shared: String(i) }));
      await h.mounted(await h.prepare(h.key("top"), parent), async (root) => {
        expect(await readdir(root)).toHaveLength(129);
        expect(await readFile(join(root, "shared"), "utf8")).toBe("127");
        expect(await readFile(join(root, "f0"), "utf8")).toBe("0");
        expect(await readFile(join(root, "f127"), "utf8")).toBe("127");
      });
      await h.mounted(await h.view(h.key("view"), parent), async (root) => {
        expect(await readdir(root)).toHaveLength(129);
      });
    }, 300_000);
  });
}
