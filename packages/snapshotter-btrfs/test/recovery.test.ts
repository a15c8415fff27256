import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { kindOfFailure } from "@berth/api";
import { unmountUnder, withMounts } from "@berth/mount";
import { BtrfsSnapshotter } from "@berth/snapshotter-btrfs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type LoopBtrfs, makeLoopBtrfs, run, subvolumePaths } from "./loop-btrfs.js";

const context = {};
let fs: LoopBtrfs;
let root = "";
let scratch = "";
let opened: BtrfsSnapshotter[] = [];

function open(): BtrfsSnapshotter {
  const snapshotter = new BtrfsSnapshotter(root);
  opened.push(snapshotter);
  return snapshotter;
}

const at = (...parts: string[]) => join(root, ...parts);
/** The subvolumes under this test's root, relative to it. */
const subvolumes = () =>
  [...subvolumePaths(fs.mnt).values()]
    .map((path) => relative(root, join(fs.mnt, path)))
    .filter((path) => !path.startsWith(".."))
    .sort();

beforeAll(async () => {
  fs = await makeLoopBtrfs();
});

afterAll(async () => {
  const base = fs?.base;
  await fs?.dispose();
  if (base !== undefined) expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(base);
});

beforeEach(() => {
  root = mkdtempSync(join(fs.mnt, "root-"));
  scratch = mkdtempSync(join(fs.base, "scratch-"));
});

afterEach(async () => {
  for (const snapshotter of opened.splice(0)) await snapshotter.close().catch(() => undefined);
  await unmountUnder(scratch, { detach: true });
  rmSync(scratch, { recursive: true, force: true });
});

describe("BtrfsSnapshotter failures", () => {
  it("keeps neither record nor subvolume when making the subvolume fails, and cleanup clears the way", async () => {
    const s = open();
    mkdirSync(at("active", "1", "in-the-way"), { recursive: true });
    expect(await kindOfFailure(() => s.prepare(context, "k1", ""))).toBe("Internal");
    expect(await kindOfFailure(() => s.stat(context, "k1"))).toBe("NotFound");
    expect(readdirSync(at("active", "1")), "what was in the way is not ours to delete").toEqual(["in-the-way"]);
    await s.cleanup(context);
    expect(readdirSync(at("active"))).toEqual([]);
    await s.prepare(context, "k1", "");
    expect(subvolumes(), "the id was not used up").toEqual(["active/1"]);

    await s.commit(context, "c1", "k1");
    mkdirSync(at("view", "2"));
    expect(await kindOfFailure(() => s.view(context, "v", "c1")), "a snapshot in the way").toBe("Internal");
    expect(await kindOfFailure(() => s.stat(context, "v"))).toBe("NotFound");
    expect(subvolumes()).toEqual(["snapshots/1"]);
  });

  it("commit: when the committed subvolume cannot be made, the key stays active with its files", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    writeFileSync(at("active", "1", "data"), "kept");
    mkdirSync(at("snapshots", "1"));
    expect(await kindOfFailure(() => s.commit(context, "c1", "k1"))).toBe("Internal");
    expect((await s.stat(context, "k1")).kind).toBe("active");
    expect(await kindOfFailure(() => s.stat(context, "c1"))).toBe("NotFound");
    expect(readFileSync(at("active", "1", "data"), "utf8")).toBe("kept");
    rmSync(at("snapshots", "1"), { recursive: true });
    await s.commit(context, "c1", "k1");
    expect(subvolumes()).toEqual(["snapshots/1"]);
  });

  it("remove: when the subvolume cannot be moved aside, the record and the subvolume stay", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    writeFileSync(at("active", "1", "data"), "kept");
    mkdirSync(at("active", "rm-1", "in-the-way"), { recursive: true });
    expect(await kindOfFailure(() => s.remove(context, "k1"))).not.toBe("none");
    expect((await s.stat(context, "k1")).kind).toBe("active");
    expect(readFileSync(at("active", "1", "data"), "utf8")).toBe("kept");
    rmSync(at("active", "rm-1"), { recursive: true });
    await s.remove(context, "k1");
    expect(readdirSync(at("active"))).toEqual([]);
    expect(subvolumes()).toEqual([]);
  });

  it("removes and commits snapshots holding subvolumes made inside them, as containerd's SubvolDelete does", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    run("btrfs", "subvolume", "create", at("active", "1", "nested"));
    run("btrfs", "subvolume", "create", at("active", "1", "nested", "deeper"));
    mkdirSync(at("active", "1", "dir"));
    run("btrfs", "subvolume", "snapshot", "-r", at("active", "1", "nested"), at("active", "1", "dir", "ro-nested"));
    await s.remove(context, "k1");
    expect(subvolumes()).toEqual([]);
    expect(readdirSync(at("active"))).toEqual([]);

    await s.prepare(context, "k2", "");
    run("btrfs", "subvolume", "create", at("active", "2", "nested"));
    await s.commit(context, "c2", "k2");
    expect(subvolumes(), "a snapshot does not take nested subvolumes along").toEqual(["snapshots/2"]);
    expect(existsSync(at("active", "2"))).toBe(false);
  });
});

describe("BtrfsSnapshotter cleanup", () => {
  it("deletes what a crash leaves (an <id> without a record, rm-*, strays) and nothing else", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    writeFileSync(at("active", "1", "layer"), "one");
    await s.commit(context, "c1", "k1");
    await s.prepare(context, "k2", "c1");
    await s.view(context, "v", "c1");
    run("btrfs", "subvolume", "create", at("active", "77"));
    writeFileSync(at("active", "77", "orphan"), "x");
    run("btrfs", "subvolume", "snapshot", "-r", at("snapshots", "1"), at("snapshots", "rm-9"));
    run("btrfs", "subvolume", "create", at("view", "1")); // id 1 is committed, not a view
    mkdirSync(at("view", "stray", "dir"), { recursive: true });
    writeFileSync(at("snapshots", "stray-file"), "x");
    await s.cleanup(context);
    expect([readdirSync(at("active")), readdirSync(at("view")), readdirSync(at("snapshots"))]).toEqual([["2"], ["3"], ["1"]]);
    expect(subvolumes()).toEqual(["active/2", "snapshots/1", "view/3"]);
    expect(await withMounts(await s.mounts(context, "k2"), (dir) => readFileSync(join(dir, "layer"), "utf8"), { tempDir: scratch })).toBe("one");
    await s.cleanup(context);
    expect(subvolumes(), "nothing more to do").toEqual(["active/2", "snapshots/1", "view/3"]);
  });
});
