import { kindOfFailure } from "@berth/api";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Harness, compareTimestamps, writeFiles } from "./harness.js";

const KiB = 1024;

/** What the interface tells about snapshots besides their files: stat, labels, list, usage, remove, cleanup. */
export function describeMetadata(harness: () => Harness): void {
  describe("stat and labels", () => {
    it("stats each kind with its name, parent, kind, labels and times; commit replaces the key by the name", async () => {
      const h = harness();
      const startedMs = Date.now();
      const key = h.key("active");
      await h.prepare(key, "", { a: "1", empty: "" });
      const active = await h.stat(key);
      expect(active).toMatchObject({ name: key, parent: "", kind: "active" });
      expect(active.labels, "an empty value is no label").toEqual({ a: "1" });
      expect(compareTimestamps(active.updatedAt, active.createdAt)).toBeGreaterThanOrEqual(0);
      expect(Math.abs(active.createdAt.seconds * 1000 - startedMs), "created now").toBeLessThan(60_000);

      const name = h.key("committed");
      await h.commit(name, key, { b: "2" });
      const committed = await h.stat(name);
      expect(committed).toMatchObject({ name, parent: "", kind: "committed" });
      expect(committed.labels, "the commit's labels, not the key's").toEqual({ b: "2" });
      expect(compareTimestamps(committed.createdAt, active.createdAt)).toBeGreaterThanOrEqual(0);

      const view = h.key("view");
      await h.view(view, name, { v: "3" });
      expect(await h.stat(view)).toEqual(expect.objectContaining({ name: view, parent: name, kind: "view", labels: { v: "3" } }));
      const child = h.key("child");
      await h.prepare(child, name);
      expect(await h.stat(child)).toEqual(expect.objectContaining({ name: child, parent: name, kind: "active", labels: {} }));
    });

    it("updates single labels through labels.<key>, and replaces all with `labels` or no fieldpath", async () => {
      const h = harness();
      const key = h.key("active");
      await h.prepare(key, "", { a: "1", b: "2" });
      const created = await h.stat(key);
      const update = async (labels: Record<string, string>, fieldpaths: string[]) => {
        const updated = await h.snapshotter.update(h.context, { name: key, labels }, fieldpaths);
        expect(await h.stat(key), "stat agrees with what update returned").toEqual(updated);
        expect(updated).toMatchObject({ name: key, parent: "", kind: "active", createdAt: created.createdAt });
        expect(compareTimestamps(updated.updatedAt, created.updatedAt)).toBeGreaterThanOrEqual(0);
        return updated.labels;
      };
      expect(await update({ a: "10", c: "ignored" }, ["labels.a"])).toEqual({ a: "10", b: "2" });
      expect(await update({}, ["labels.b"]), "absent value: removed").toEqual({ a: "10" });
      expect(await update({ a: "" }, ["labels.a"]), "empty value: removed").toEqual({});
      const gc = "containerd.io/gc.ref.snapshot.overlayfs";
      expect(await update({ [gc]: "x", y: "z" }, [`labels.${gc}`, "labels.y"])).toEqual({ [gc]: "x", y: "z" });
      expect(await update({ z: "26", empty: "" }, [])).toEqual({ z: "26" });
      expect(await update({ only: "this" }, ["labels"])).toEqual({ only: "this" });
      const name = h.key("committed");
      await h.commit(name, key);
      const updated = await h.snapshotter.update(h.context, { name, labels: { c: "3" } }, ["labels.c"]);
      expect(updated).toEqual(expect.objectContaining({ name, kind: "committed", labels: { c: "3" } }));
    });
  });

  describe("list", () => {
    it("lists every snapshot, filtered by name, parent, kind and labels.<key>; several filters are OR'ed", async () => {
      const h = harness();
      const token = randomBytes(8).toString("hex");
      const tag = { "test.example/token": token };
      const base = await h.layer("", () => undefined, { ...tag, role: "base" });
      const top = await h.layer(base, () => undefined, { ...tag, role: "top" });
      const active = h.key("active");
      await h.prepare(active, top, { ...tag, role: "active" });
      const view = h.key("view");
      await h.view(view, base, tag);
      const sorted = (...names: string[]) => [...names].sort();
      const byToken = `labels."test.example/token"==${token}`;

      expect(await h.listNames([byToken])).toEqual(sorted(base, top, active, view));
      expect(await h.listNames([`name==${active}`])).toEqual([active]);
      expect(await h.listNames([`name==${active}`, `name==${base}`])).toEqual(sorted(active, base));
      expect(await h.listNames([`parent==${base}`])).toEqual(sorted(top, view));
      expect(await h.listNames([`${byToken},parent==${top}`])).toEqual([active]);
      expect(await h.listNames([`${byToken},kind==active`])).toEqual([active]);
      expect(await h.listNames([`${byToken},kind==view`])).toEqual([view]);
      expect(await h.listNames([`${byToken},kind==committed`])).toEqual(sorted(base, top));
      expect(await h.listNames([`${byToken},kind!=committed`])).toEqual(sorted(active, view));
      expect(await h.listNames([`${byToken},labels.role==top`])).toEqual([top]);
      expect(await h.listNames([`${byToken},labels.role`])).toEqual(sorted(base, top, active));
      expect(await h.listNames([`${byToken},labels.role!=base`])).toEqual(sorted(top, active, view));
      expect(await h.listNames([`${byToken},labels.role~="^(ba|to)"`])).toEqual(sorted(base, top));
      expect(await h.listNames([`name==${h.key("missing")}`])).toEqual([]);

      const all = await h.list();
      expect(all.map((info) => info.name)).toEqual(expect.arrayContaining([base, top, active, view]));
      expect(all.find((info) => info.name === active)).toEqual(expect.objectContaining({ parent: top, kind: "active", labels: { ...tag, role: "active" } }));
      expect(all.find((info) => info.name === view)).toEqual(expect.objectContaining({ parent: base, kind: "view", labels: tag }));
      expect(all.find((info) => info.name === base)).toEqual(await h.stat(base));
    });
  });

  describe("usage", () => {
    it("measures an active snapshot when asked, fixes a committed one at commit, and counts only its own layer (a full copy: all of it)", async () => {
      const h = harness();
      const key = h.key("active");
      const bytes = 256 * KiB;
      await h.mounted(await h.prepare(key), async (root) => {
        await writeFile(join(root, "big"), randomBytes(bytes));
        await writeFiles(root, { "dir/": "", "dir/a": "a", "dir/b": "b" });
      });
      const active = await h.snapshotter.usage(h.context, key);
      expect(active.size).toBeGreaterThanOrEqual(bytes);
      expect(active.inodes).toBeGreaterThanOrEqual(4);

      const name = h.key("committed");
      await h.commit(name, key);
      const committed = await h.snapshotter.usage(h.context, name);
      expect(committed.size).toBeGreaterThanOrEqual(bytes);
      expect(committed.inodes).toBeGreaterThanOrEqual(4);

      const child = h.key("child");
      await h.mounted(await h.prepare(child, name), (root) => writeFiles(root, { small: "s" }));
      const own = await h.snapshotter.usage(h.context, child);
      if (h.usageIncludesParents) expect(own.size, "a child's usage counts its copy of the parent").toBeGreaterThanOrEqual(bytes);
      else expect(own.size, "a child's usage leaves out its parent's bytes").toBeLessThan(bytes);
      await h.mounted(child, (root) => writeFile(join(root, "more"), randomBytes(2 * bytes)));
      expect((await h.snapshotter.usage(h.context, child)).size, "measured again when asked").toBeGreaterThanOrEqual(2 * bytes);
      expect(await h.snapshotter.usage(h.context, name), "the committed usage stays").toEqual(committed);

      const view = h.key("view");
      await h.view(view, name);
      const viewUsage = await h.snapshotter.usage(h.context, view);
      expect(viewUsage.size).toBeGreaterThanOrEqual(0);
    });
  });

  describe("remove and cleanup", () => {
    it("removes snapshots of every kind: gone from stat and list, and a removed key is new when used again", async () => {
      const h = harness();
      const base = await h.layer("", (root) => writeFiles(root, { base: "b" }));
      const view = h.key("view");
      await h.view(view, base);
      const active = h.key("active");
      await h.mounted(await h.prepare(active, base), (root) => writeFiles(root, { old: "o" }));
      for (const key of [view, active]) {
        await h.snapshotter.remove(h.context, key);
        expect(await kindOfFailure(() => h.stat(key))).toBe("NotFound");
        expect(await kindOfFailure(() => h.snapshotter.mounts(h.context, key))).toBe("NotFound");
      }
      expect(await h.listNames([`name==${active}`, `name==${view}`])).toEqual([]);
      expect(await h.tree(await h.prepare(active, base)), "prepared again under the same key").toEqual({ ".": "dir 755", base: "file 644 b" });
      await h.snapshotter.remove(h.context, active);
      await h.snapshotter.remove(h.context, base);
      expect(await kindOfFailure(() => h.stat(base))).toBe("NotFound");
      expect(await h.listNames([`name==${base}`])).toEqual([]);
    });

    it("cleanup keeps every snapshot and its files", async () => {
      const h = harness();
      const base = await h.layer("", (root) => writeFiles(root, { base: "b" }));
      const active = h.key("active");
      await h.mounted(await h.prepare(active, base), (root) => writeFiles(root, { mine: "m" }));
      const view = h.key("view");
      await h.view(view, base);
      const gone = await h.layer(base, () => undefined);
      await h.snapshotter.remove(h.context, gone);
      const before = await h.list();
      expect(["none", "NotImplemented"]).toContain(await kindOfFailure(() => h.snapshotter.cleanup(h.context)));
      expect(await h.list()).toEqual(before);
      expect(await h.committedTree(base)).toEqual({ ".": "dir 755", base: "file 644 b" });
      expect(await h.tree(active)).toEqual({ ".": "dir 755", base: "file 644 b", mine: "file 644 m" });
      expect(await h.tree(view)).toEqual({ ".": "dir 755", base: "file 644 b" });
    });
  });
}
