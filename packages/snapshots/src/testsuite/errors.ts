import { kindOfFailure } from "@berth/api";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Harness, writeFiles } from "./harness.js";

/** Every misuse the contract names, by error kind; and that a failed call changes nothing. */
export function describeErrors(harness: () => Harness): void {
  describe("error kinds", () => {
    it("prepare and view: AlreadyExists for a taken key, NotFound for an unknown parent, InvalidArgument for one not committed", async () => {
      const h = harness();
      const committed = await h.layer("", () => undefined);
      const active = h.key("active");
      await h.prepare(active);
      const view = h.key("view");
      await h.view(view, committed);
      const before = await h.list();
      const attempted: string[] = [];
      for (const [what, create] of [
        ["prepare", h.prepare.bind(h)],
        ["view", h.view.bind(h)],
      ] as const) {
        for (const taken of [active, view, committed]) {
          expect(await kindOfFailure(() => create(taken, "")), `${what} of taken ${taken}`).toBe("AlreadyExists");
          expect(await kindOfFailure(() => create(taken, committed)), `${what} of taken ${taken} on a parent`).toBe("AlreadyExists");
        }
        const fresh = () => {
          const key = h.key(`never-${what}`);
          attempted.push(key);
          return key;
        };
        expect(await kindOfFailure(() => create(fresh(), h.key("missing"))), `${what} on an unknown parent`).toBe("NotFound");
        expect(await kindOfFailure(() => create(fresh(), active)), `${what} on an active parent`).toBe("InvalidArgument");
        expect(await kindOfFailure(() => create(fresh(), view)), `${what} on a view parent`).toBe("InvalidArgument");
      }
      expect(await h.list(), "nothing was made or changed").toEqual(before);
      for (const key of attempted) expect(await kindOfFailure(() => h.stat(key))).toBe("NotFound");
      expect((await h.stat(active)).kind).toBe("active");
    });

    it("commit: NotFound for an unknown key, FailedPrecondition unless active, AlreadyExists for a taken name (the key stays active)", async () => {
      const h = harness();
      const committed = await h.layer("", () => undefined);
      const view = h.key("view");
      await h.view(view, committed);
      const active = h.key("active");
      await h.mounted(await h.prepare(active, committed), (root) => writeFiles(root, { kept: "yes" }));
      const other = h.key("other");
      await h.prepare(other);

      expect(await kindOfFailure(() => h.commit(h.key("name"), h.key("missing")))).toBe("NotFound");
      expect(await kindOfFailure(() => h.commit(h.key("name"), view)), "a view").toBe("FailedPrecondition");
      expect(await kindOfFailure(() => h.commit(h.key("name"), committed)), "a committed snapshot").toBe("FailedPrecondition");
      for (const taken of [committed, other, view, active]) {
        expect(await kindOfFailure(() => h.commit(taken, active)), `name ${taken}`).toBe("AlreadyExists");
      }
      expect(await h.stat(active)).toMatchObject({ name: active, kind: "active", parent: committed });
      expect(await h.mounted(active, (root) => readFile(join(root, "kept"), "utf8"))).toBe("yes");
      const name = h.key("finally");
      await h.commit(name, active);
      expect((await h.stat(name)).kind).toBe("committed");
      expect(await kindOfFailure(() => h.stat(active)), "the key after commit").toBe("NotFound");
      expect(await kindOfFailure(() => h.commit(h.key("again"), active)), "commit of the key again").toBe("NotFound");
    });

    it("mounts: NotFound for an unknown key, FailedPrecondition for a committed snapshot", async () => {
      const h = harness();
      const committed = await h.layer("", () => undefined);
      expect(await kindOfFailure(() => h.snapshotter.mounts(h.context, h.key("missing")))).toBe("NotFound");
      expect(await kindOfFailure(() => h.snapshotter.mounts(h.context, committed))).toBe("FailedPrecondition");
    });

    it("remove: NotFound for an unknown key, FailedPrecondition while children of any kind exist", async () => {
      const h = harness();
      expect(await kindOfFailure(() => h.snapshotter.remove(h.context, h.key("missing")))).toBe("NotFound");
      const base = await h.layer("", (root) => writeFiles(root, { base: "b" }));
      const middle = await h.layer(base, () => undefined);
      const view = h.key("view");
      await h.view(view, middle);
      const active = h.key("active");
      await h.prepare(active, middle);
      const children: [string, string][] = [
        [view, "a view child"],
        [active, "an active child"],
      ];
      for (const [child, what] of children) {
        expect(await kindOfFailure(() => h.snapshotter.remove(h.context, middle)), `with ${what}`).toBe("FailedPrecondition");
        expect(await kindOfFailure(() => h.snapshotter.remove(h.context, base)), `grandparent, with ${what}`).toBe("FailedPrecondition");
        await h.snapshotter.remove(h.context, child);
      }
      expect(await kindOfFailure(() => h.snapshotter.remove(h.context, base)), "with a committed child").toBe("FailedPrecondition");
      expect(await h.committedTree(base), "the refused removals changed nothing").toEqual({ ".": "dir 755", base: "file 644 b" });
      await h.snapshotter.remove(h.context, middle);
      await h.snapshotter.remove(h.context, base);
      expect(await kindOfFailure(() => h.snapshotter.remove(h.context, base)), "removed twice").toBe("NotFound");
    });

    it("stat, usage and update: NotFound for an unknown key", async () => {
      const h = harness();
      const missing = h.key("missing");
      expect(await kindOfFailure(() => h.stat(missing))).toBe("NotFound");
      expect(await kindOfFailure(() => h.snapshotter.usage(h.context, missing))).toBe("NotFound");
      expect(await kindOfFailure(() => h.snapshotter.update(h.context, { name: missing, labels: { a: "b" } }, []))).toBe("NotFound");
      expect(await kindOfFailure(() => h.snapshotter.update(h.context, { name: missing, labels: { a: "b" } }, ["labels.a"]))).toBe("NotFound");
    });

    it("update: InvalidArgument for fieldpaths other than labels and labels.<key>, leaving everything unchanged", async () => {
      const h = harness();
      const name = await h.layer("", () => undefined, { keep: "me" });
      const before = await h.stat(name);
      for (const fieldpaths of [["name"], ["parent"], ["kind"], ["created_at"], ["updated_at"], ["labels.keep", "kind"], ["label.keep"], ["labelsx"]]) {
        const attempt = () => h.snapshotter.update(h.context, { name, labels: { keep: "changed" } }, fieldpaths);
        expect(await kindOfFailure(attempt), fieldpaths.join(",")).toBe("InvalidArgument");
      }
      expect(await h.stat(name)).toEqual(before);
    });

    it("labels over 4096 bytes are InvalidArgument in prepare, view, commit and update, and nothing is made", async () => {
      const h = harness();
      const big = { big: "x".repeat(4094) }; // "big" and its value: 4097 bytes
      const base = await h.layer("", () => undefined);
      const before = await h.list();
      const [p, v] = [h.key("prepare"), h.key("view")];
      expect(await kindOfFailure(() => h.prepare(p, base, big))).toBe("InvalidArgument");
      expect(await kindOfFailure(() => h.view(v, base, big))).toBe("InvalidArgument");
      expect(await kindOfFailure(() => h.stat(p))).toBe("NotFound");
      expect(await kindOfFailure(() => h.stat(v))).toBe("NotFound");
      expect(await h.list()).toEqual(before);
      const active = h.key("active");
      await h.prepare(active, base);
      const name = h.key("name");
      expect(await kindOfFailure(() => h.commit(name, active, big))).toBe("InvalidArgument");
      expect((await h.stat(active)).kind).toBe("active");
      expect(await kindOfFailure(() => h.stat(name))).toBe("NotFound");
      expect(await kindOfFailure(() => h.snapshotter.update(h.context, { name: base, labels: big }, ["labels.big"]))).toBe("InvalidArgument");
      expect(await kindOfFailure(() => h.snapshotter.update(h.context, { name: base, labels: { ["k".repeat(4097)]: "v" } }, []))).toBe("InvalidArgument");
      expect((await h.stat(base)).labels).toEqual({});
      const fits = await h.snapshotter.update(h.context, { name: base, labels: { big: "x".repeat(4093) } }, ["labels.big"]);
      expect(fits.labels.big).toHaveLength(4093);
    });

    it("list: InvalidArgument for a malformed filter", async () => {
      const h = harness();
      expect(await kindOfFailure(() => h.list(["name=="]))).toBe("InvalidArgument");
      expect(await kindOfFailure(() => h.list(["kind==active,"]))).toBe("InvalidArgument");
    });
  });
}
