import { execFileSync } from "node:child_process";
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, ftruncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { applyLayer, computeLayer } from "@berth/diff";
import { describe, expect, it } from "vitest";
import { collect, describeTree, failureOf, makeTar, sha256, useTempDir } from "./fixtures.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** A file of apparent size `size` holding only `pieces`: holes everywhere else (truncate, then writes). */
function sparseFile(path: string, size: number, pieces: Array<{ at: number; data: Buffer }>): void {
  const fd = openSync(path, "w");
  try {
    ftruncateSync(fd, size);
    for (const { at, data } of pieces) writeSync(fd, data, 0, data.length, at);
  } finally {
    closeSync(fd);
  }
}

/** What GNU tar itself writes for `name` in `dir` with --sparse. */
function gnuTar(dir: string, name: string, format: string): Buffer {
  const [kind, version] = format.split(" ");
  const args = ["--sparse", `--format=${kind}`, ...(version === undefined ? [] : [`--sparse-version=${version}`]), "-C", dir, "-cf", "-", name];
  return execFileSync("tar", args, { maxBuffer: 256 * MiB });
}

function readAt(path: string, at: number, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, at);
    return buf;
  } finally {
    closeSync(fd);
  }
}

const formats = ["gnu", "pax 0.0", "pax 0.1", "pax 1.0"];

describe("applyLayer: GNU sparse files", () => {
  const tmp = useTempDir();
  const dirs = () => {
    const src = join(tmp(), "src");
    const root = join(tmp(), "root");
    mkdirSync(src, { recursive: true });
    mkdirSync(root, { recursive: true });
    return { src, root };
  };

  it.each(formats)("writes a 10 GiB file of a few bytes from GNU tar's %s format with its holes, in a few blocks", async (format) => {
    const { src, root } = dirs();
    const pieces = [
      { at: 4096, data: Buffer.from("hello") },
      { at: 5 * GiB, data: Buffer.from("middle") },
      { at: 10 * GiB - 4, data: Buffer.from("end!") },
    ];
    sparseFile(join(src, "big"), 10 * GiB, pieces);
    const layer = gnuTar(src, "big", format);
    expect(layer.length).toBeLessThan(64 * 1024);

    expect(await applyLayer([layer], root)).toEqual({ digest: sha256(layer), size: layer.length });
    const stats = lstatSync(join(root, "big"));
    expect(stats.size).toBe(10 * GiB);
    // Three 4 KiB blocks hold the data (st_blocks counts 512-byte units); containerd writes all 10 GiB.
    expect(stats.blocks).toBeLessThanOrEqual(64);
    for (const { at, data } of pieces) {
      const around = readAt(join(root, "big"), at - 8, data.length + 8);
      expect(around).toEqual(Buffer.concat([Buffer.alloc(8), data]).subarray(0, around.length));
    }
    expect(readAt(join(root, "big"), 7 * GiB, 4096)).toEqual(Buffer.alloc(4096));
  });

  it.each(formats)("applies GNU tar's %s format byte for byte, with many regions and large ones, and the file's metadata", async (format) => {
    const { src, root } = dirs();
    // 30 regions: the old format's extension blocks and a 1.0 map over several blocks; 3 MiB of
    // data in one region spans several write batches.
    const pieces = Array.from({ length: 30 }, (_, i) => ({ at: i * MiB + (i % 7) * 4096, data: Buffer.alloc(100 + i, `region ${i}|`) }));
    pieces.push({ at: 40 * MiB, data: Buffer.alloc(3 * MiB, "large region|") });
    sparseFile(join(src, "many"), 48 * MiB, pieces);
    execFileSync("chmod", ["0640", join(src, "many")]);
    execFileSync("touch", ["-d", "@1600000000", join(src, "many")]);
    const layer = gnuTar(src, "many", format);

    await applyLayer([layer], root);
    expect(readFileSync(join(root, "many")).equals(readFileSync(join(src, "many")))).toBe(true);
    expect(describeTree(root)).toEqual(describeTree(src));
    const stats = lstatSync(join(root, "many"));
    expect(stats.size).toBe(48 * MiB);
    expect(stats.blocks * 512).toBeLessThan(4 * MiB);
  });

  it("writes a sparse file that replaces one, keeps the data of a whole-file region, and empties a file of holes only", async () => {
    const { src, root } = dirs();
    sparseFile(join(src, "holes"), 8 * MiB, []);
    sparseFile(join(src, "dense"), 8192, [{ at: 0, data: Buffer.alloc(8192, "x") }]);
    // GNU tar pads its archives to 10 KiB: the first one ends after its last non-zero block.
    const first = gnuTar(src, "holes", "pax 1.0");
    let end = first.length;
    while (end > 0 && first[end - 1] === 0) end--;
    const layer = Buffer.concat([first.subarray(0, Math.ceil(end / 512) * 512), gnuTar(src, "dense", "gnu")]);
    mkdirSync(join(root, "holes"));
    await applyLayer([layer], root);
    expect(lstatSync(join(root, "holes")).size).toBe(8 * MiB);
    expect(lstatSync(join(root, "holes")).blocks).toBe(0);
    expect(readFileSync(join(root, "dense"))).toEqual(Buffer.alloc(8192, "x"));
  });

  it("rejects sparse maps Go's reader rejects, and treats an unknown version as a plain file", async () => {
    const { root } = dirs();
    const pax01 = (map: string, numblocks: string, size = "10") => ({ "GNU.sparse.map": map, "GNU.sparse.numblocks": numblocks, "GNU.sparse.size": size });
    const cases: Array<[string, Parameters<typeof makeTar>[0]]> = [
      ["more data in the map than in the archive", [{ name: "f", content: "abc", pax: pax01("0,5", "1") }]],
      ["less data in the map than in the archive", [{ name: "f", content: "abc", pax: pax01("0,2", "1") }]],
      ["overlapping regions", [{ name: "f", content: "abc", pax: pax01("0,2,1,1", "2") }]],
      ["a region past the size", [{ name: "f", content: "abc", pax: pax01("8,3", "1") }]],
      ["a count that does not match", [{ name: "f", content: "abc", pax: pax01("0,3", "2") }]],
      ["a bad number", [{ name: "f", content: "abc", pax: pax01("0,x", "1") }]],
      ["a map on a symlink", [{ name: "s", type: "symlink", linkname: "f", pax: pax01("0,0", "1") }]],
      ["a 1.0 map cut short", [{ name: "f", content: "1\n0\n", pax: { "GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.realsize": "10" } }]],
    ];
    for (const [what, entries] of cases) {
      expect(await failureOf(async () => applyLayer([await makeTar(entries)], root)), what).toMatchObject({ kind: "InvalidArgument" });
    }
    await applyLayer(
      [await makeTar([{ name: "GNUSparseFile.0/real", content: "abc", pax: { "GNU.sparse.major": "2", "GNU.sparse.minor": "0", "GNU.sparse.name": "real" } }])],
      root,
    );
    expect(readFileSync(join(root, "GNUSparseFile.0/real"), "utf8")).toBe("abc");
  });

  it("diffs a sparse file as a plain one (as containerd) that applies back to the same content", async () => {
    const { src, root } = dirs();
    const lower = join(tmp(), "lower");
    mkdirSync(lower);
    sparseFile(join(src, "sparse"), 16 * MiB + 3, [
      { at: 0, data: Buffer.from("start") },
      { at: 9 * MiB, data: Buffer.from("nine") },
    ]);
    const layer = await collect(computeLayer(lower, src));
    expect(layer.length).toBeGreaterThan(16 * MiB);
    await applyLayer([layer], root);
    expect(readFileSync(join(root, "sparse")).equals(readFileSync(join(src, "sparse")))).toBe(true);
  });
});
