import { chmod, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { kindOfFailure } from "@berth/api";
import { describe, expect, it } from "vitest";
import { type Harness, writeFiles } from "./harness.js";

/**
 * The optional `pristineMark` capability (packages/api/src/snapshots.ts): a mark holds while
 * nothing is written, and every kind of write through the mounts changes it, even one right after
 * the mark that leaves size and mtime as they were. A snapshotter without it skips these.
 */
export function describePristineMarks(harness: () => Harness): void {
  describe("pristine marks (optional)", () => {
    it("hold while nothing is written, and change with every write, chmod, rename and removal", async (context) => {
      const h = harness();
      const pristineMark = h.snapshotter.pristineMark?.bind(h.snapshotter);
      if (pristineMark === undefined) return context.skip();
      const parent = await h.layer("", (root) => writeFiles(root, { "etc/": "", "etc/hostname": "berth\n", "bin/": "", "bin/sh": "#!" }));
      const key = h.key("active");
      await h.prepare(key, parent);
      const sibling = h.key("sibling");
      await h.prepare(sibling, parent);
      const mark = () => pristineMark(h.context, key);

      const first = await mark();
      expect(await mark(), "nothing written").toBe(first);
      await h.mounted(sibling, (root) => writeFile(join(root, "etc/hostname"), "other\n"));
      expect(await mark(), "only a sibling written").toBe(first);

      const seen = new Set([first]);
      const changes: [string, (root: string) => Promise<unknown>][] = [
        ["a new file", (root) => writeFile(join(root, "new"), "new\n")],
        ["the same bytes again, right after the mark", (root) => writeFile(join(root, "new"), "new\n")],
        ["a file of the parent edited", (root) => writeFile(join(root, "etc/hostname"), "BERTH\n")],
        ["a chmod", (root) => chmod(join(root, "bin/sh"), 0o700)],
        ["a rename", (root) => rename(join(root, "new"), join(root, "renamed"))],
        ["a file of the parent removed", (root) => rm(join(root, "bin/sh"))],
      ];
      for (const [what, change] of changes) {
        await h.mounted(key, change);
        const after = await mark();
        expect(seen.has(after), what).toBe(false);
        seen.add(after);
      }
    });

    it("NotFound for an unknown key, FailedPrecondition for a committed snapshot or a view", async (context) => {
      const h = harness();
      const pristineMark = h.snapshotter.pristineMark?.bind(h.snapshotter);
      if (pristineMark === undefined) return context.skip();
      const committed = await h.layer("", (root) => writeFiles(root, { a: "A" }));
      const view = h.key("view");
      await h.view(view, committed);
      expect(await kindOfFailure(() => pristineMark(h.context, h.key("missing")))).toBe("NotFound");
      expect(await kindOfFailure(() => pristineMark(h.context, committed))).toBe("FailedPrecondition");
      expect(await kindOfFailure(() => pristineMark(h.context, view))).toBe("FailedPrecondition");
    });
  });
}
