import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mountPointsUnder, unmountUnder, withMounts } from "@berth/mount";
import { BtrfsSnapshotter } from "@berth/snapshotter-btrfs";
import { diskUsage } from "@berth/snapshots";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type LoopBtrfs, makeLoopBtrfs, readonlyProperty, rootId } from "./loop-btrfs.js";

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
const mode = (path: string) => (lstatSync(path).mode & 0o7777).toString(8);
const isSubvolumeRoot = (path: string) => lstatSync(path, { bigint: true }).ino === 256n;

function erofs(action: () => unknown): string {
  try {
    action();
    return "none";
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

beforeAll(async () => {
  fs = await makeLoopBtrfs();
});

afterAll(async () => {
  const base = fs?.base;
  await fs?.dispose();
  if (base !== undefined) expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(base);
});

beforeEach(() => {
  root = join(mkdtempSync(join(fs.mnt, "test-")), "root");
  scratch = mkdtempSync(join(fs.base, "scratch-"));
});

afterEach(async () => {
  for (const snapshotter of opened.splice(0)) await snapshotter.close().catch(() => undefined);
  await unmountUnder(scratch, { detach: true });
  rmSync(scratch, { recursive: true, force: true });
});

describe("BtrfsSnapshotter layout", () => {
  it("keeps containerd's layout: metadata.db and a subvolume per snapshot in active/, view/ and snapshots/", async () => {
    const s = open();
    // metadata.db-lock is lmdb's, beside the shared metastore's file.
    expect(readdirSync(root).sort()).toEqual(["active", "metadata.db", "metadata.db-lock", "snapshots", "view"]);
    expect([mode(root), mode(at("active")), mode(at("view")), mode(at("snapshots"))]).toEqual(["700", "755", "755", "755"]);
    await s.prepare(context, "k1", "");
    expect(isSubvolumeRoot(at("active", "1"))).toBe(true);
    expect(mode(at("active", "1"))).toBe("755");
    expect(readonlyProperty(at("active", "1"))).toBe("ro=false");
    writeFileSync(at("active", "1", "file"), "one");
    await s.view(context, "v0", "");
    // containerd creates a parentless view writable and relies on the "ro" mount option.
    expect(readonlyProperty(at("view", "2"))).toBe("ro=false");

    await s.commit(context, "c1", "k1");
    expect(existsSync(at("active", "1")), "the active subvolume is deleted").toBe(false);
    expect(readonlyProperty(at("snapshots", "1")), "commit keeps the id").toBe("ro=true");
    expect(readFileSync(at("snapshots", "1", "file"), "utf8")).toBe("one");
    expect(
      erofs(() => writeFileSync(at("snapshots", "1", "file"), "changed")),
      "a committed subvolume refuses writes",
    ).toBe("EROFS");
    expect(erofs(() => writeFileSync(at("snapshots", "1", "new"), "x"))).toBe("EROFS");

    await s.view(context, "v1", "c1");
    expect(readonlyProperty(at("view", "3")), "a view of a parent is a read-only snapshot").toBe("ro=true");
    await s.prepare(context, "k2", "c1");
    expect(readonlyProperty(at("active", "4"))).toBe("ro=false");
    expect(readFileSync(at("active", "4", "file"), "utf8")).toBe("one");

    for (const key of ["v0", "v1", "k2"]) await s.remove(context, key);
    expect([readdirSync(at("active")), readdirSync(at("view")), readdirSync(at("snapshots"))]).toEqual([[], [], ["1"]]);
    await s.remove(context, "c1");
    expect(readdirSync(at("snapshots"))).toEqual([]);
  });

  it("keeps its snapshots across reopening and goes on with new ids", async () => {
    const first = open();
    await first.prepare(context, "k1", "", { a: "1" });
    await first.commit(context, "c1", "k1", { b: "2" });
    await first.close();
    const second = open();
    expect(await second.stat(context, "c1")).toMatchObject({ name: "c1", kind: "committed", labels: { b: "2" } });
    await second.prepare(context, "k2", "c1");
    expect(readdirSync(at("active"))).toEqual(["2"]);
  });
});

describe("BtrfsSnapshotter mounts", () => {
  it("returns containerd's shape: type btrfs, the filesystem's device, subvolid=<id>, and ro unless active", async () => {
    const s = open();
    expect(s.device).toBe(fs.device);
    const mount = (kind: string, id: number, ...ro: string[]) => [
      { type: "btrfs", source: fs.device, options: [`subvolid=${rootId(at(kind, String(id)))}`, ...ro] },
    ];
    expect(await s.prepare(context, "k1", "")).toEqual(mount("active", 1));
    expect(await s.view(context, "v0", "")).toEqual(mount("view", 2, "ro"));
    await s.commit(context, "c1", "k1");
    expect(await s.prepare(context, "k2", "c1")).toEqual(mount("active", 3));
    expect(await s.view(context, "v1", "c1")).toEqual(mount("view", 4, "ro"));
    const reopened = open();
    for (const key of ["k2", "v0", "v1"]) {
      expect(await reopened.mounts(context, key), `${key} after reopening`).toEqual(await s.mounts(context, key));
    }
  });

  it("mounts the snapshot's own subvolume, writable for active snapshots and read-only for views", async () => {
    const s = open();
    const mounts = await s.prepare(context, "k1", "");
    await withMounts(
      mounts,
      (dir) => {
        const line =
          readFileSync("/proc/self/mountinfo", "utf8")
            .split("\n")
            .find((entry) => entry.split(" ")[4] === dir) ?? "";
        expect(line).toContain(` - btrfs ${fs.device} `);
        expect(line).toContain(`subvolid=${rootId(at("active", "1"))}`);
        writeFileSync(join(dir, "written"), "through the mount");
      },
      { tempDir: scratch },
    );
    expect(readFileSync(at("active", "1", "written"), "utf8")).toBe("through the mount");
    await s.commit(context, "c1", "k1");
    await withMounts(
      await s.view(context, "v1", "c1"),
      (dir) => {
        expect(readFileSync(join(dir, "written"), "utf8")).toBe("through the mount");
        expect(erofs(() => writeFileSync(join(dir, "x"), "x"))).toBe("EROFS");
      },
      { tempDir: scratch },
    );
    expect(mountPointsUnder(scratch)).toEqual([]);
  });
});

describe("BtrfsSnapshotter usage", () => {
  it("measures an active snapshot without a parent as its whole disk usage", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    expect(await s.usage(context, "k1")).toEqual(await diskUsage(at("active", "1")));
    writeFileSync(at("active", "1", "file"), Buffer.alloc(100_000, 7));
    const grown = await s.usage(context, "k1");
    expect(grown).toEqual(await diskUsage(at("active", "1")));
    expect(grown.inodes).toBe(2);
    expect(grown.size).toBeGreaterThanOrEqual(100_000);
    await s.commit(context, "c1", "k1");
    expect(await s.usage(context, "c1"), "fixed at commit").toEqual(grown);
    await s.view(context, "v", "c1");
    expect(await s.usage(context, "v")).toEqual({ size: 0, inodes: 0 });
  });

  it("measures one with a parent as what it adds or changes (containerd's DiffUsage): not deletions, not the unchanged", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    for (const name of ["a", "b", "c", "d", "same"]) writeFileSync(at("active", "1", name), Buffer.alloc(10_000, name.charCodeAt(0)));
    await s.commit(context, "c1", "k1");
    await s.prepare(context, "k2", "c1");
    const upper = (name: string) => at("active", "2", name);
    expect(await s.usage(context, "k2"), "a fresh snapshot adds nothing").toEqual({ size: 0, inodes: 0 });

    writeFileSync(upper("a"), Buffer.alloc(20_000, 1)); // changed
    rmSync(upper("b")); // deleted: free
    chmodSync(upper("c"), 0o600); // changed metadata: the file counts
    utimesSync(upper("d"), new Date(), new Date(Date.now() + 5000)); // newer mtime: counts
    writeFileSync(upper("new"), Buffer.alloc(30_000, 2)); // added
    const changed = ["a", "c", "d", "new"].map((name) => lstatSync(upper(name)));
    const expected = { size: changed.reduce((sum, stats) => sum + stats.blocks * 512, 0), inodes: 4 };
    expect(await s.usage(context, "k2")).toEqual(expected);
    await s.commit(context, "c2", "k2");
    expect(await s.usage(context, "c2"), "what commit recorded").toEqual(expected);
  });

  it("compares content when both mtimes lack nanoseconds, as continuity does", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    const whole = new Date(1_700_000_000_000);
    for (const name of ["same", "differs"]) {
      writeFileSync(at("active", "1", name), "0123456789");
      utimesSync(at("active", "1", name), whole, whole);
    }
    await s.commit(context, "c1", "k1");
    await s.prepare(context, "k2", "c1");
    for (const [name, content] of [
      ["same", "0123456789"],
      ["differs", "9876543210"],
    ] as const) {
      writeFileSync(at("active", "2", name), content);
      utimesSync(at("active", "2", name), whole, whole);
    }
    expect((await s.usage(context, "k2")).inodes).toBe(1);
  });
});
