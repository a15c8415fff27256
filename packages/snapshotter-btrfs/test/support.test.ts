import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf } from "@berth/api";
import { unmountUnder } from "@berth/mount";
import { BtrfsSnapshotter, btrfsSupported } from "@berth/snapshotter-btrfs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoopBtrfs, makeLoopBtrfs, run } from "./loop-btrfs.js";

let fs: LoopBtrfs;
let other = "";

/** The filesystem type of the mount holding `path`, from util-linux (not from the code under test). */
const fsTypeOf = (path: string) => run("findmnt", "--noheadings", "--output", "FSTYPE", "--target", path).trim();
const reason = (path: string, type: string) => `path ${path} (${type}) must be a btrfs filesystem to be used with the btrfs snapshotter`;

beforeAll(async () => {
  fs = await makeLoopBtrfs();
  other = mkdtempSync(join(tmpdir(), "berth-test-btrfs-other-"));
});

afterAll(async () => {
  const base = fs?.base;
  try {
    await fs?.dispose();
  } finally {
    await unmountUnder(other);
    if (!readFileSync("/proc/self/mounts", "utf8").includes(other)) rmSync(other, { recursive: true, force: true });
  }
  const mounts = readFileSync("/proc/self/mounts", "utf8");
  if (base !== undefined) expect(mounts).not.toContain(base);
  expect(mounts).not.toContain(other);
});

describe("btrfsSupported", () => {
  it("says yes for a root on btrfs, also one not made yet", () => {
    expect(btrfsSupported(fs.mnt)).toEqual({ supported: true });
    expect(btrfsSupported(join(fs.mnt, "not", "made", "yet"))).toEqual({ supported: true });
  });

  it("says no, with containerd's reason, for a directory that is not on btrfs", () => {
    const type = fsTypeOf(other);
    expect(type).not.toBe("btrfs");
    expect(btrfsSupported(other)).toEqual({ supported: false, reason: reason(other, type) });
    const later = join(other, "root");
    expect(btrfsSupported(later)).toEqual({ supported: false, reason: reason(later, type) });
  });

  it("says no for tmpfs, and the snapshotter refuses such a root (FailedPrecondition) without making it", () => {
    const tmpfs = join(other, "tmpfs");
    mkdirSync(tmpfs);
    run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", tmpfs);
    const root = join(tmpfs, "root");
    expect(btrfsSupported(root)).toEqual({ supported: false, reason: reason(root, "tmpfs") });
    let failure: unknown;
    try {
      new BtrfsSnapshotter(root);
    } catch (error) {
      failure = error;
    }
    expect(kindOf(failure)).toBe("FailedPrecondition");
    expect((failure as Error).message).toContain(reason(root, "tmpfs"));
    expect(existsSync(root)).toBe(false);
  });

  it("finds the btrfs mounted over a directory of another filesystem", () => {
    const over = join(other, "over");
    mkdirSync(over);
    run("mount", "--bind", fs.mnt, over);
    expect(btrfsSupported(join(over, "root"))).toEqual({ supported: true });
  });
});
