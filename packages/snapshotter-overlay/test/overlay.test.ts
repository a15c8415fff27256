import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOfFailure } from "@berth/api";
import { mountAll, unmountUnder, withMounts } from "@berth/mount";
import { OverlaySnapshotter, kernelHasOverlayIndex, overlaySupported } from "@berth/snapshotter-overlay";
import { runCommand, startStockContainerd, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const context = {};
let base = "";
let root = "";
let opened: OverlaySnapshotter[] = [];

function open(options?: ConstructorParameters<typeof OverlaySnapshotter>[1]): OverlaySnapshotter {
  const snapshotter = new OverlaySnapshotter(root, options);
  opened.push(snapshotter);
  return snapshotter;
}

const snapshots = (...parts: string[]) => join(root, "snapshots", ...parts);
const mode = (path: string) => (lstatSync(path).mode & 0o7777).toString(8);

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "berth-test-overlay-"));
  root = join(base, "root");
});

afterEach(async () => {
  try {
    for (const snapshotter of opened.splice(0)) await snapshotter.close().catch(() => undefined);
  } finally {
    await unmountUnder(base, { detach: true });
    rmSync(base, { recursive: true, force: true });
  }
  expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(base);
});

describe("OverlaySnapshotter layout and mounts", () => {
  it("lays out containerd's directories: metadata.db, snapshots/<id>/fs and, for active ones, work", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    expect(existsSync(join(root, "metadata.db"))).toBe(true);
    expect([mode(snapshots("1")), mode(snapshots("1", "fs")), mode(snapshots("1", "work"))]).toEqual(["700", "755", "711"]);
    await s.view(context, "v0", "");
    expect(readdirSync(snapshots("2"))).toEqual(["fs"]);
    await s.commit(context, "c1", "k1");
    expect(readdirSync(snapshots("1")).sort(), "commit keeps the id and its directories").toEqual(["fs", "work"]);
    await s.prepare(context, "k2", "c1");
    expect(readdirSync(snapshots()).sort()).toEqual(["1", "2", "3"]);
    await s.remove(context, "v0");
    await s.remove(context, "k2");
    expect(readdirSync(snapshots())).toEqual(["1"]);
  });

  it("returns containerd's mount shapes for each kind and depth", async () => {
    const s = open();
    const index = kernelHasOverlayIndex() ? ["index=off"] : [];
    const fs = (id: number) => snapshots(String(id), "fs");
    expect(await s.prepare(context, "k1", "")).toEqual([{ type: "bind", source: fs(1), options: ["rw", "rbind"] }]);
    expect(await s.view(context, "v0", "")).toEqual([{ type: "bind", source: fs(2), options: ["ro", "rbind"] }]);
    await s.commit(context, "c1", "k1");
    expect(await s.prepare(context, "k2", "c1")).toEqual([
      { type: "overlay", source: "overlay", options: [...index, `workdir=${snapshots("3", "work")}`, `upperdir=${fs(3)}`, `lowerdir=${fs(1)}`] },
    ]);
    expect(await s.view(context, "v1", "c1")).toEqual([{ type: "bind", source: fs(1), options: ["ro", "rbind"] }]);
    await s.commit(context, "c2", "k2");
    const k3 = await s.prepare(context, "k3", "c2");
    expect(k3).toEqual([
      { type: "overlay", source: "overlay", options: [...index, `workdir=${snapshots("5", "work")}`, `upperdir=${fs(5)}`, `lowerdir=${fs(3)}:${fs(1)}`] },
    ]);
    expect(await s.view(context, "v2", "c2")).toEqual([{ type: "overlay", source: "overlay", options: [...index, `lowerdir=${fs(3)}:${fs(1)}`] }]);
    expect(await s.mounts(context, "k3"), "mounts gives what prepare gave").toEqual(k3);
    const reopened = open();
    for (const key of ["v0", "v1", "k3", "v2"]) {
      expect(await reopened.mounts(context, key), `${key} after reopening`).toEqual(await s.mounts(context, key));
    }
  });

  it("adds index=off and userxattr only as configured", async () => {
    const s = open({ indexOff: false, userxattr: true });
    await s.prepare(context, "k1", "");
    await s.commit(context, "c1", "k1");
    const [mount] = await s.prepare(context, "k2", "c1");
    expect(mount?.options[0]).toBe("userxattr");
    expect(mount?.options.some((option) => option.startsWith("index="))).toBe(false);
  });

  it.skipIf(!stockContainerdInstalled)("returns exactly what stock containerd returns for the same sequence", async () => {
    const daemon = await startStockContainerd();
    if (daemon === undefined) throw new Error("stock containerd did not start");
    try {
      const ctr = async (...args: string[]) => {
        const result = await runCommand(stockCtr!, ["--address", daemon.address, "snapshots", ...args]);
        expect(result.code, `ctr snapshots ${args.join(" ")}: ${result.stderr}`).toBe(0);
        return result.stdout;
      };
      const stockRoot = join(daemon.root, "io.containerd.snapshotter.v1.overlayfs");
      const s = open();
      const steps = [
        ["prepare", "k1", ""],
        ["view", "v0", ""],
        ["commit", "c1", "k1"],
        ["prepare", "k2", "c1"],
        ["view", "v1", "c1"],
        ["commit", "c2", "k2"],
        ["prepare", "k3", "c2"],
        ["view", "v2", "c2"],
        ["prepare", "k4", "c1"],
      ] as const;
      for (const [step, first, second] of steps) {
        if (step === "commit") {
          await ctr(step, first, second);
          await s.commit(context, first, second);
          continue;
        }
        // --mounts prints them as made: ctr's views carry no gc.root label, so stock GC may take them later.
        const stock = (JSON.parse(await ctr(step, "--mounts", first, second)) as { Type: string; Source: string; Options: string[] }[]).map((m) => ({
          type: m.Type,
          source: m.Source.replaceAll(stockRoot, "<root>"),
          options: m.Options.map((option) => option.replaceAll(stockRoot, "<root>")),
        }));
        const ours = (await s[step](context, first, second)).map((m) => ({
          type: m.type,
          source: m.source.replaceAll(root, "<root>"),
          options: m.options.map((option) => option.replaceAll(root, "<root>")),
        }));
        expect(ours, `${step} ${first} ${second}`).toEqual(stock);
      }
    } finally {
      await daemon.cleanup();
    }
  });
});

describe("OverlaySnapshotter usage", () => {
  it("measures an active snapshot's fs as containerd's du does, and records nothing for views", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    const fsDir = snapshots("1", "fs");
    expect(await s.usage(context, "k1")).toEqual({ size: Number(lstatSync(fsDir).blocks) * 512, inodes: 1 });
    writeFileSync(join(fsDir, "file"), Buffer.alloc(10_000, 7));
    const grown = await s.usage(context, "k1");
    expect(grown.inodes).toBe(2);
    expect(grown.size).toBeGreaterThanOrEqual(10_000);
    await s.commit(context, "c1", "k1");
    expect(await s.usage(context, "c1")).toEqual(grown);
    writeFileSync(join(fsDir, "after-commit"), "x");
    expect(await s.usage(context, "c1"), "fixed at commit").toEqual(grown);
    await s.view(context, "v", "c1");
    expect(await s.usage(context, "v")).toEqual({ size: 0, inodes: 0 });
  });
});

describe("OverlaySnapshotter failures and cleanup", () => {
  it("keeps neither record nor directory when making a snapshot's directory fails", async () => {
    const s = open();
    mkdirSync(snapshots("1", "in-the-way"), { recursive: true }); // the rename to <id> 1 cannot replace it
    expect(await kindOfFailure(() => s.prepare(context, "k1", ""))).not.toBe("none");
    expect(await kindOfFailure(() => s.stat(context, "k1"))).toBe("NotFound");
    expect(readdirSync(snapshots())).toEqual(["1"]);
    expect(readdirSync(snapshots("1"))).toEqual(["in-the-way"]);
    await s.cleanup(context);
    expect(readdirSync(snapshots())).toEqual([]);
    await s.prepare(context, "k1", "");
    expect(readdirSync(snapshots("1")).sort(), "the id was not used up").toEqual(["fs", "work"]);
  });

  it("keeps the record and the directory when moving the directory aside fails", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    writeFileSync(snapshots("1", "fs", "data"), "kept");
    mkdirSync(snapshots("rm-1", "in-the-way"), { recursive: true });
    expect(await kindOfFailure(() => s.remove(context, "k1"))).not.toBe("none");
    expect((await s.stat(context, "k1")).kind).toBe("active");
    expect(readFileSync(snapshots("1", "fs", "data"), "utf8")).toBe("kept");
    rmSync(snapshots("rm-1"), { recursive: true });
    await s.remove(context, "k1");
    expect(readdirSync(snapshots())).toEqual([]);
  });

  it("cleanup removes what a crash leaves (new-*, rm-*, an <id> without a record) and nothing else", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    writeFileSync(snapshots("1", "fs", "layer"), "one");
    await s.commit(context, "c1", "k1");
    await s.prepare(context, "k2", "c1");
    for (const leftover of ["new-abc123/fs", "rm-9/fs", "77/fs", "77/work"]) mkdirSync(snapshots(leftover), { recursive: true });
    writeFileSync(snapshots("new-abc123", "fs", "half-made"), "x");
    writeFileSync(snapshots("77", "fs", "orphan"), "x");
    writeFileSync(snapshots("stray-file"), "x");
    await s.cleanup(context);
    expect(readdirSync(snapshots()).sort()).toEqual(["1", "2"]);
    const mounts = await s.mounts(context, "k2");
    expect(await withMounts(mounts, (dir) => readFileSync(join(dir, "layer"), "utf8"), { tempDir: base })).toBe("one");
  });

  it("keeps its snapshots across reopening and goes on with new ids", async () => {
    const first = open();
    await first.prepare(context, "k1", "", { a: "1" });
    await first.commit(context, "c1", "k1", { b: "2" });
    await first.close();
    const second = open();
    expect(await second.stat(context, "c1")).toMatchObject({ name: "c1", kind: "committed", labels: { b: "2" } });
    await second.prepare(context, "k2", "c1");
    expect(readdirSync(snapshots()).sort()).toEqual(["1", "2"]);
  });
});

describe("overlaySupported", () => {
  it("says yes on this host, and no with a reason for a root on overlayfs", async () => {
    expect(await overlaySupported(base)).toEqual({ supported: true });
    const [upper, lower, merged] = [join(base, "upper"), join(base, "lower"), join(base, "merged")];
    for (const dir of [upper, lower, merged]) mkdirSync(dir);
    await mountAll([{ type: "overlay", source: "overlay", options: [`lowerdir=${upper}:${lower}`] }], merged);
    const verdict = await overlaySupported(join(merged, "not", "made", "yet"));
    expect(verdict.supported).toBe(false);
    expect(verdict.reason).toMatch(/overlayfs/);
    expect(await kindOfFailure(() => OverlaySnapshotter.open(join(merged, "root")))).toBe("FailedPrecondition");
  });
});
