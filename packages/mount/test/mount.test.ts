import { closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf } from "@berth/api";
import { MountError, cleanupTempMounts, mountAll, mountPointsUnder, unmountAll, unmountUnder, withMounts } from "@berth/mount";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

let base = "";

function mountsTable(): string {
  return readFileSync("/proc/self/mounts", "utf8");
}

function dir(...parts: string[]): string {
  const path = join(base, ...parts);
  mkdirSync(path, { recursive: true });
  return path;
}

function errorOf(action: () => unknown): NodeJS.ErrnoException {
  try {
    action();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error("expected a failure");
}

async function failure(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "berth-test-mount-"));
});

afterEach(async () => {
  try {
    await unmountUnder(base, { detach: true });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  expect(mountsTable()).not.toContain(base);
});

describe("bind mounts", () => {
  it("shows the source's files at the target, writable with rw", async () => {
    const source = dir("source");
    writeFileSync(join(source, "hello"), "world");
    const target = dir("target");
    await mountAll([{ type: "bind", source, options: ["rw", "rbind"] }], target);
    expect(mountsTable()).toContain(target);
    expect(readFileSync(join(target, "hello"), "utf8")).toBe("world");
    writeFileSync(join(target, "written"), "through the bind");
    expect(readFileSync(join(source, "written"), "utf8")).toBe("through the bind");
    await unmountAll(target);
    expect(readdirSync(target)).toEqual([]);
    expect(mountsTable()).not.toContain(target);
  });

  it("binds for type bind even without a bind option", async () => {
    const source = dir("source");
    writeFileSync(join(source, "f"), "x");
    const target = dir("target");
    await mountAll([{ type: "bind", source, options: [] }], target);
    expect(readdirSync(target)).toEqual(["f"]);
  });

  it("makes a read-only bind refuse writes with EROFS, leaving the source writable", async () => {
    const source = dir("source");
    writeFileSync(join(source, "file"), "data");
    const target = dir("target");
    await mountAll([{ type: "bind", source, options: ["ro", "rbind"] }], target);
    expect(readFileSync(join(target, "file"), "utf8")).toBe("data");
    expect(errorOf(() => writeFileSync(join(target, "new"), "x")).code).toBe("EROFS");
    expect(errorOf(() => writeFileSync(join(target, "file"), "changed")).code).toBe("EROFS");
    writeFileSync(join(source, "still-writable"), "yes");
    expect(readFileSync(join(target, "still-writable"), "utf8")).toBe("yes");
  });

  it("applies remount,bind,ro to an existing bind", async () => {
    const source = dir("source");
    const target = dir("target");
    await mountAll([{ type: "bind", source, options: ["rbind"] }], target);
    writeFileSync(join(target, "before"), "ok");
    await mountAll([{ type: "bind", source: "", options: ["remount", "bind", "ro"] }], target);
    expect(errorOf(() => writeFileSync(join(target, "after"), "x")).code).toBe("EROFS");
  });

  it("applies propagation options in their own call (rprivate)", async () => {
    const source = dir("source");
    const target = dir("target");
    await mountAll([{ type: "bind", source, options: ["rbind", "rprivate"] }], target);
    const line = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .find((entry) => entry.split(" ")[4] === target);
    expect(line).toBeDefined();
    expect(line).not.toMatch(/ shared:\d+/);
  });
});

describe("overlay and other filesystem types", () => {
  it("merges lower and upper; writes, deletions and whiteouts land in upper", async () => {
    const lower = dir("lower");
    const upper = dir("upper");
    const work = dir("work");
    const target = dir("merged");
    writeFileSync(join(lower, "from-lower"), "L");
    writeFileSync(join(lower, "shadowed"), "lower");
    writeFileSync(join(lower, "deleted"), "gone soon");
    writeFileSync(join(upper, "shadowed"), "upper");
    writeFileSync(join(upper, "from-upper"), "U");
    await mountAll([{ type: "overlay", source: "overlay", options: [`workdir=${work}`, `upperdir=${upper}`, `lowerdir=${lower}`] }], target);
    expect(readdirSync(target).sort()).toEqual(["deleted", "from-lower", "from-upper", "shadowed"]);
    expect(readFileSync(join(target, "shadowed"), "utf8")).toBe("upper");
    rmSync(join(target, "deleted"));
    writeFileSync(join(target, "new"), "N");
    expect(readFileSync(join(upper, "new"), "utf8")).toBe("N");
    expect(lstatSync(join(upper, "deleted")).isCharacterDevice()).toBe(true); // the whiteout
    expect(readFileSync(join(lower, "deleted"), "utf8")).toBe("gone soon");
  });

  it("stacks several lowerdirs leftmost on top, and read-only without an upper", async () => {
    const top = dir("top");
    const bottom = dir("bottom");
    writeFileSync(join(top, "f"), "top");
    writeFileSync(join(bottom, "f"), "bottom");
    writeFileSync(join(bottom, "only-bottom"), "b");
    const target = dir("merged");
    await mountAll([{ type: "overlay", source: "overlay", options: [`lowerdir=${top}:${bottom}`] }], target);
    expect(readFileSync(join(target, "f"), "utf8")).toBe("top");
    expect(readFileSync(join(target, "only-bottom"), "utf8")).toBe("b");
    expect(errorOf(() => writeFileSync(join(target, "x"), "x")).code).toBe("EROFS");
  });

  it("mounts a lowerdir list longer than a page by making it relative to the common directory", async () => {
    const layers: string[] = [];
    for (let i = 0; i < 80; i++) {
      const layer = dir("snapshots-with-a-rather-long-directory-name", String(i), "fs");
      writeFileSync(join(layer, `file-${i}`), String(i));
      layers.unshift(layer);
    }
    expect(layers.join(":").length).toBeGreaterThan(4096);
    const target = dir("merged");
    const cwd = process.cwd();
    await mountAll([{ type: "overlay", source: "overlay", options: [`lowerdir=${layers.join(":")}`] }], target);
    expect(process.cwd()).toBe(cwd);
    expect(readdirSync(target)).toHaveLength(80);
    expect(readFileSync(join(target, "file-42"), "utf8")).toBe("42");
  });

  it("passes flags as flags and the rest as data to any other type (tmpfs)", async () => {
    const target = dir("tmpfs");
    await mountAll([{ type: "tmpfs", source: "berth-test-tmpfs", options: ["nosuid", "nodev", "size=1m", "mode=0710"] }], target);
    const line =
      mountsTable()
        .split("\n")
        .find((entry) => entry.split(" ")[1] === target) ?? "";
    expect(line.split(" ")[2]).toBe("tmpfs");
    const options = line.split(" ")[3]?.split(",") ?? [];
    expect(options).toEqual(expect.arrayContaining(["rw", "nosuid", "nodev", "size=1024k", "mode=710"]));
    expect(lstatSync(target).mode & 0o7777).toBe(0o710);
  });
});

describe("errors", () => {
  it("names type, source, target and errno; EINVAL is InvalidArgument, others Internal", async () => {
    const target = dir("target");
    const missing = join(base, "missing");
    const enoent = await failure(() => mountAll([{ type: "bind", source: missing, options: ["rbind"] }], target));
    expect(enoent).toBeInstanceOf(MountError);
    expect(kindOf(enoent)).toBe("Internal");
    expect((enoent as MountError).code).toBe("ENOENT");
    expect((enoent as Error).message).toContain("bind");
    expect((enoent as Error).message).toContain(missing);
    expect((enoent as Error).message).toContain(target);
    expect((enoent as Error).message).toContain("ENOENT");

    const einval = await failure(() => mountAll([{ type: "tmpfs", source: "tmpfs", options: ["no-such-option=1"] }], target));
    expect(kindOf(einval)).toBe("InvalidArgument");
    expect((einval as MountError).code).toBe("EINVAL");
    expect((einval as Error).message).toContain("tmpfs");
    expect(mountsTable()).not.toContain(target);
  });

  it("undoes its own earlier mounts when a later one fails", async () => {
    const source = dir("source");
    const target = dir("target");
    const bad = { type: "overlay", source: "overlay", options: [`lowerdir=${join(base, "missing")}`] };
    await expect(mountAll([{ type: "bind", source, options: ["rbind"] }, { type: "bind", source, options: ["ro", "rbind"] }, bad], target)).rejects.toThrow(
      MountError,
    );
    expect(mountPointsUnder(base)).toEqual([]);
  });

  it("rejects loop mounts as InvalidArgument", async () => {
    const target = dir("target");
    expect(kindOf(await failure(() => mountAll([{ type: "ext4", source: join(base, "image"), options: ["loop"] }], target)))).toBe("InvalidArgument");
  });
});

describe("unmountAll", () => {
  it("unmounts every mount stacked on the target, and is content with a plain or missing directory", async () => {
    const one = dir("one");
    const two = dir("two");
    writeFileSync(join(one, "1"), "");
    writeFileSync(join(two, "2"), "");
    const target = dir("target");
    await mountAll(
      [
        { type: "bind", source: one, options: ["rbind"] },
        { type: "bind", source: two, options: ["rbind"] },
      ],
      target,
    );
    expect(readdirSync(target)).toEqual(["2"]);
    expect(
      mountsTable()
        .split("\n")
        .filter((line) => line.split(" ")[1] === target),
    ).toHaveLength(2);
    await unmountAll(target);
    expect(mountsTable()).not.toContain(target);
    await unmountAll(target);
    await unmountAll(join(base, "does-not-exist"));
  });

  it("detaches a mount that an open directory keeps busy, with detach", async () => {
    const source = dir("source");
    const target = dir("target");
    await mountAll([{ type: "bind", source, options: ["rbind"] }], target);
    const fd = openSync(join(target, "."), "r");
    try {
      await unmountAll(target, { detach: true });
      expect(mountsTable()).not.toContain(target);
    } finally {
      closeSync(fd);
    }
  });

  it("unmountUnder finds and unmounts nested mounts deepest first", async () => {
    const source = dir("source");
    const outer = dir("outer");
    await mountAll([{ type: "bind", source, options: ["rbind"] }], outer);
    const inner = join(outer, "inner");
    mkdirSync(inner);
    await mountAll([{ type: "tmpfs", source: "tmpfs", options: [] }], inner);
    expect(mountPointsUnder(base)).toEqual([inner, outer]);
    expect(await unmountUnder(base)).toEqual([inner, outer]);
    expect(mountPointsUnder(base)).toEqual([]);
  });
});

describe("withMounts", () => {
  it("mounts on a fresh directory, returns fn's result, then unmounts and removes it", async () => {
    const source = dir("source");
    writeFileSync(join(source, "a"), "A");
    let seen = "";
    const result = await withMounts(
      [{ type: "bind", source, options: ["ro", "rbind"] }],
      async (root) => {
        seen = root;
        expect(mountsTable()).toContain(root);
        return readFileSync(join(root, "a"), "utf8");
      },
      { tempDir: base },
    );
    expect(result).toBe("A");
    expect(seen.startsWith(join(base, "berth-mount-"))).toBe(true);
    expect(existsSync(seen)).toBe(false);
    expect(mountsTable()).not.toContain(seen);
  });

  it("cleans up when fn throws, and rethrows fn's error", async () => {
    const source = dir("source");
    let seen = "";
    const thrown = new Error("fn failed");
    await expect(
      withMounts(
        [{ type: "bind", source, options: ["rbind"] }],
        (root) => {
          seen = root;
          throw thrown;
        },
        { tempDir: base },
      ),
    ).rejects.toBe(thrown);
    expect(seen).not.toBe("");
    expect(existsSync(seen)).toBe(false);
    expect(mountsTable()).not.toContain(seen);
    expect(readdirSync(base)).toEqual(["source"]);
  });

  it("removes its directory when mounting fails", async () => {
    const error = await failure(() => withMounts([{ type: "bind", source: join(base, "missing"), options: ["rbind"] }], () => "never", { tempDir: base }));
    expect(error).toBeInstanceOf(MountError);
    expect(readdirSync(base)).toEqual([]);
  });

  it("uses the system's temp dir by default", async () => {
    const source = dir("source");
    const root = await withMounts([{ type: "bind", source, options: ["rbind"] }], (root) => root);
    expect(root.startsWith(join(tmpdir(), "berth-mount-"))).toBe(true);
    expect(existsSync(root)).toBe(false);
  });
});

describe("cleanupTempMounts", () => {
  it("unmounts what a killed daemon left in its tmpmounts (busy ones detached) and removes the empty directories only", async () => {
    const source = dir("source");
    writeFileSync(join(source, "kept"), "data");
    const tmpmounts = join(base, "tmpmounts");
    expect(await cleanupTempMounts(tmpmounts), "made when missing").toEqual([]);
    expect((lstatSync(tmpmounts).mode & 0o777).toString(8)).toBe("700");
    // What withMounts had made when its daemon was killed: mounts on directories in tmpmounts.
    const leftover = join(tmpmounts, "berth-mount-left");
    mkdirSync(leftover);
    await mountAll([{ type: "bind", source, options: ["ro", "rbind"] }], leftover);
    const busy = join(tmpmounts, "berth-mount-busy");
    mkdirSync(busy);
    await mountAll([{ type: "bind", source, options: ["rbind"] }], busy);
    mkdirSync(join(tmpmounts, "berth-mount-never-mounted"));
    writeFileSync(join(tmpmounts, "not-a-mount-point"), "");
    const fd = openSync(join(busy, "kept"), "r");
    try {
      expect((await cleanupTempMounts(tmpmounts)).sort()).toEqual([busy, leftover].sort());
    } finally {
      closeSync(fd);
    }
    expect(mountPointsUnder(tmpmounts)).toEqual([]);
    expect(readdirSync(tmpmounts), "only what rmdir cannot remove stays").toEqual(["not-a-mount-point"]);
    expect(readFileSync(join(source, "kept"), "utf8"), "the mounted files are untouched").toBe("data");
  });
});
