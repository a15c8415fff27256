import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createLayer } from "@berth/bench";

describe("layers", () => {
  it("builds a gzipped tar that tar lists, with its digests", () => {
    const layer = createLayer({ directories: 2, filesPerDirectory: 3, fileSize: 1000 });
    const tar = gunzipSync(layer.data);
    expect(tar.length).toBe(layer.tarSize);
    expect(layer.files).toBe(6);
    expect(layer.digest).toBe(`sha256:${createHash("sha256").update(layer.data).digest("hex")}`);
    expect(layer.diffId).toBe(`sha256:${createHash("sha256").update(tar).digest("hex")}`);
    const listed = spawnSync("tar", ["-tvf", "-"], { input: tar, encoding: "utf8" });
    expect(listed.status, listed.stderr).toBe(0);
    const lines = listed.stdout.trim().split("\n");
    expect(lines.map((line) => line.split(/\s+/).at(-1))).toEqual([
      "bench/dir-00/",
      "bench/dir-00/file-0000",
      "bench/dir-00/file-0001",
      "bench/dir-00/file-0002",
      "bench/dir-01/",
      "bench/dir-01/file-0000",
      "bench/dir-01/file-0001",
      "bench/dir-01/file-0002",
    ]);
    expect(lines[1]).toMatch(/^-rw-r--r-- root\/root\s+1000 /);
    expect(lines[0]).toMatch(/^drwxr-xr-x root\/root\s+0 /);
  });
});
