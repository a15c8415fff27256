import { compactLowerdir, errnoName, mountFlags, parseMountOptions } from "@berth/mount";
import { describe, expect, it } from "vitest";

const { MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE, MS_REMOUNT, MS_SYNCHRONOUS } = mountFlags;

describe("parseMountOptions", () => {
  it("turns flag options into MS_* flags and keeps the rest, in order, as data", () => {
    expect(parseMountOptions(["ro", "rbind"])).toEqual({ flags: MS_RDONLY | MS_BIND | MS_REC, data: [] });
    expect(parseMountOptions(["nosuid", "nodev", "noexec", "sync", "remount", "bind"])).toEqual({
      flags: MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | MS_REMOUNT | MS_BIND,
      data: [],
    });
    expect(parseMountOptions(["index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l"])).toEqual({
      flags: 0,
      data: ["index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l"],
    });
    expect(parseMountOptions(["subvolid=5", "ro"])).toEqual({ flags: MS_RDONLY, data: ["subvolid=5"] });
    expect(parseMountOptions(["rprivate"]).flags).toBe(MS_PRIVATE | MS_REC);
  });

  it("lets a later clearing option win (ro,rw is rw) and drops defaults", () => {
    expect(parseMountOptions(["ro", "rw"]).flags).toBe(0);
    expect(parseMountOptions(["rw", "ro"]).flags).toBe(MS_RDONLY);
    expect(parseMountOptions(["nosuid", "suid", "defaults"])).toEqual({ flags: 0, data: [] });
  });
});

describe("compactLowerdir", () => {
  it("makes lowerdirs relative to their common directory, moving the option last", () => {
    expect(compactLowerdir(["index=off", "lowerdir=/r/snapshots/12/fs:/r/snapshots/1/fs:/r/snapshots/11/fs", "other"])).toEqual({
      directory: "/r/snapshots",
      data: ["index=off", "other", "lowerdir=12/fs:1/fs:11/fs"],
    });
  });

  it("leaves a single lowerdir or unrelated directories alone", () => {
    expect(compactLowerdir(["lowerdir=/r/1/fs"])).toBeUndefined();
    expect(compactLowerdir(["lowerdir=/a/fs:/b/fs"])).toBeUndefined();
    expect(compactLowerdir(["upperdir=/u"])).toBeUndefined();
  });
});

describe("errnoName", () => {
  it("names errno values", () => {
    expect(errnoName(22)).toBe("EINVAL");
    expect(errnoName(30)).toBe("EROFS");
    expect(errnoName(99999)).toBe("errno 99999");
  });
});
