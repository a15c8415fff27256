import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isKind } from "@berth/api";
import { LocalContentStore, writeBlob } from "@berth/content";
import { type MountShape, WindowsDiffer, WindowsSnapshotter, windowsSnapshotLabels } from "@berth/runtime-windows";
import { pack } from "tar-stream";
import { afterEach, describe, expect, it } from "vitest";
import { DiskLayerOps } from "./disk-layer-ops.js";

const context = { namespace: "default" };
const opened: { base: string; snapshotter: WindowsSnapshotter }[] = [];

async function open(shape: MountShape, rootName = "root") {
  const base = mkdtempSync(join(tmpdir(), "berth-test-windows-"));
  const ops = new DiskLayerOps();
  const snapshotter = await WindowsSnapshotter.open(join(base, rootName), ops, { mountShape: shape });
  opened.push({ base, snapshotter });
  const dir = (id: number) => join(base, rootName, "snapshots", String(id));
  return { base, ops, snapshotter, dir };
}

afterEach(async () => {
  for (const { base, snapshotter } of opened.splice(0)) {
    await snapshotter.close();
    rmSync(base, { recursive: true, force: true });
  }
});

/** A base layer (id 1) and a layer over it (id 2), committed as the tests' image. */
async function image(shape: MountShape, rootName?: string) {
  const subject = await open(shape, rootName);
  const { snapshotter } = subject;
  await snapshotter.prepare(context, "base-active", "");
  await snapshotter.commit(context, "base", "base-active");
  await snapshotter.prepare(context, "top-active", "base");
  await snapshotter.commit(context, "top", "top-active");
  return subject;
}

describe("windows-layer mounts, as containerd's windows snapshotter returns them", () => {
  it("1.6.20–1.7.1: always parentLayerPaths (null for none); a view mounts its parent over the rest", async () => {
    const { snapshotter, dir } = await image("1.6");
    expect(await snapshotter.prepare(context, "fresh", "")).toEqual([{ type: "windows-layer", source: dir(3), options: ["rw", "parentLayerPaths=null"] }]);
    expect(await snapshotter.prepare(context, "container", "top")).toEqual([
      { type: "windows-layer", source: dir(4), options: ["rw", `parentLayerPaths=${JSON.stringify([dir(2), dir(1)])}`] },
    ]);
    expect(await snapshotter.view(context, "look", "top")).toEqual([
      { type: "windows-layer", source: dir(2), options: ["ro", `parentLayerPaths=${JSON.stringify([dir(1)])}`] },
    ]);
    expect(await snapshotter.view(context, "look-base", "base")).toEqual([{ type: "windows-layer", source: dir(1), options: ["ro", "parentLayerPaths=null"] }]);
    expect(await snapshotter.mounts(context, "container")).toEqual(await snapshotter.mounts(context, "container"));
  });

  it("1.7.2+: the snapshot's own directory, parentLayerPaths only with parents", async () => {
    const { snapshotter, dir } = await image("1.7");
    expect(await snapshotter.prepare(context, "fresh", "")).toEqual([{ type: "windows-layer", source: dir(3), options: ["rw"] }]);
    expect(await snapshotter.prepare(context, "container", "top")).toEqual([
      { type: "windows-layer", source: dir(4), options: ["rw", `parentLayerPaths=${JSON.stringify([dir(2), dir(1)])}`] },
    ]);
    expect(await snapshotter.view(context, "look", "top")).toEqual([
      { type: "windows-layer", source: dir(5), options: ["ro", `parentLayerPaths=${JSON.stringify([dir(2), dir(1)])}`] },
    ]);
  });

  it("writes the paths as Go's json.Marshal does (<, >, & escaped)", async () => {
    const { snapshotter, dir } = await image("1.7", "a&b<c>");
    const [mount] = await snapshotter.prepare(context, "container", "base");
    expect(mount!.options[1]).toBe(`parentLayerPaths=["${dir(1).replace(/&/g, "\\u0026").replace(/</g, "\\u003c").replace(/>/g, "\\u003e")}"]`);
  });
});

describe("the windows snapshotter's layer directories", () => {
  it("gives a parentless snapshot Files, a child a scratch from the base's blank.vhdx, an extract- key only its directory", async () => {
    const { snapshotter, dir, ops } = await image("1.6");
    expect(readdirSync(dir(1)).sort()).toEqual(["Files", "blank.vhdx"]);
    ops.calls.length = 0;
    await snapshotter.prepare(context, "extract-1-sha256:abc", "top");
    expect(readdirSync(dir(3))).toEqual([]);
    await snapshotter.commit(context, "layer", "extract-1-sha256:abc");
    expect(ops.calls, "an extracted layer is final as imported").toEqual([]);
    await snapshotter.prepare(context, "container", "layer");
    // The scratch is made in a staging directory (new-*) renamed to its id when recorded.
    expect(ops.calls).toHaveLength(1);
    expect(ops.calls[0]).toMatch(/^copyScratchDisk\(.*\/snapshots\/1\/blank\.vhdx", ".*\/snapshots\/new-[^/]+\/sandbox\.vhdx"\)$/);
    expect(existsSync(join(dir(4), "sandbox.vhdx"))).toBe(true);
  });

  it("grows the scratch to the size a label asks (1.7's bytes over 1.6's GB) and gives the utility VM a scratch", async () => {
    const { snapshotter, dir, ops } = await image("1.6");
    mkdirSync(join(dir(1), "UtilityVM"));
    writeFileSync(join(dir(1), "UtilityVM", "SystemTemplate.vhdx"), "uvm");
    ops.calls.length = 0;
    await snapshotter.prepare(context, "gb", "top", { [windowsSnapshotLabels.rootfsSizeGb]: "2" });
    await snapshotter.prepare(context, "bytes", "top", {
      [windowsSnapshotLabels.rootfsSizeGb]: "2",
      [windowsSnapshotLabels.rootfsSizeBytes]: "4096",
      [windowsSnapshotLabels.uvmScratch]: "true",
    });
    expect(ops.calls.filter((call) => call.startsWith("expandSandboxSize")).map((call) => call.replace(/^.*, /, ""))).toEqual([`${2 * 1024 ** 3})`, "4096)"]);
    expect(readFileSync(join(dir(4), "sandbox.size"), "utf8")).toBe("4096");
    expect(readFileSync(join(dir(4), "vm", "sandbox.vhdx"), "utf8")).toBe("uvm");
  });

  it("refuses a bad size label by name and leaves nothing behind", async () => {
    const { snapshotter, base } = await image("1.6");
    const error = await snapshotter.prepare(context, "bad", "top", { [windowsSnapshotLabels.rootfsSizeBytes]: "lots" }).catch((e: unknown) => e);
    expect(isKind(error, "InvalidArgument")).toBe(true);
    expect(String(error)).toContain(windowsSnapshotLabels.rootfsSizeBytes);
    expect(await snapshotter.stat(context, "bad").catch((e: unknown) => isKind(e, "NotFound"))).toBe(true);
    expect(readdirSync(join(base, "root", "snapshots")).sort()).toEqual(["1", "2"]);
  });

  it("commits a parentless scratch as a base layer and a child as a read-only layer", async () => {
    const { dir, ops } = await image("1.6");
    expect(ops.calls.filter((call) => call.startsWith("convert"))).toEqual([
      `convertToBaseLayer(${JSON.stringify(dir(1))})`,
      `convertScratchToReadOnlyLayer(${JSON.stringify(dir(2))}, ${JSON.stringify([dir(1)])})`,
    ]);
  });

  it("removes by renaming to rm-<id> and destroying that", async () => {
    const { snapshotter, dir, ops, base } = await image("1.6");
    await snapshotter.prepare(context, "container", "top");
    ops.calls.length = 0;
    await snapshotter.remove(context, "container");
    expect(ops.calls).toEqual([`destroyLayer(${JSON.stringify(join(base, "root", "snapshots", "rm-3"))})`]);
    expect(existsSync(dir(3))).toBe(false);
  });

  it("refuses a root that is not NTFS", async () => {
    const base = mkdtempSync(join(tmpdir(), "berth-test-windows-"));
    try {
      const ops = Object.assign(new DiskLayerOps(), { isNtfs: async () => false });
      const error = await WindowsSnapshotter.open(join(base, "root"), ops).catch((e: unknown) => e);
      expect(isKind(error, "InvalidArgument")).toBe(true);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

/** A Windows layer tar: a directory, a file with attributes, security and an ADS, a hard link, a whiteout. */
async function windowsLayerTar(): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on("data", (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve) => tar.on("end", () => resolve()));
  const mtime = new Date(1_700_000_000_000);
  tar.entry({ name: "Files/app", type: "directory", mtime, pax: { "MSWINDOWS.fileattr": "16" } });
  tar.entry({ name: "Files/app/hello.txt", type: "file", mtime, pax: { "MSWINDOWS.fileattr": "32", "MSWINDOWS.rawsd": "AQAEgBQAAAA=" } }, "hello");
  tar.entry({ name: "Files/app/hello.txt:ads", type: "file", mtime }, "ads");
  tar.entry({ name: "Files/app/again.txt", type: "link", linkname: "Files/app/hello.txt", mtime });
  tar.entry({ name: "Files/.wh.old", type: "file", mtime }, "");
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}

describe("the windows differ", () => {
  it("imports a layer tar into an extract- snapshot over its parents and returns the uncompressed digest", async () => {
    const { snapshotter, dir, ops, base } = await image("1.7");
    writeFileSync(join(dir(2), "Files", "old"), "doomed");
    const content = new LocalContentStore(join(base, "content"));
    const tar = await windowsLayerTar();
    const blob = await writeBlob(content, context, "layer", tar);
    const mounts = await snapshotter.prepare(context, "extract-2-layer", "top");
    const differ = new WindowsDiffer(content, ops);
    const applied = await differ.apply(
      context,
      { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: blob.digest, size: blob.size, annotations: {} },
      mounts,
    );
    expect(applied).toEqual({
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: `sha256:${createHash("sha256").update(tar).digest("hex")}`,
      size: tar.length,
      annotations: {},
    });
    const files = join(dir(3), "Files");
    expect(readFileSync(join(files, "app", "hello.txt"), "utf8")).toBe("hello");
    expect(readFileSync(join(files, "app", "hello.txt:ads"), "utf8")).toBe("ads");
    expect(statSync(join(files, "app", "again.txt")).ino).toBe(statSync(join(files, "app", "hello.txt")).ino);
    expect(existsSync(join(files, "old")), "the whiteout removed the parent's file").toBe(false);
    expect(ops.calls).toContain(`newLayerWriter(${JSON.stringify(dir(3))}, ${JSON.stringify([dir(2), dir(1)])})`);
  });

  it("leaves mounts that are not one windows-layer to the next differ (NotImplemented)", async () => {
    const { base, ops } = await open("1.7");
    const differ = new WindowsDiffer(new LocalContentStore(join(base, "content")), ops);
    const layer = { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${"0".repeat(64)}`, size: 0, annotations: {} };
    const error = await differ.apply(context, layer, [{ type: "bind", source: "/x", options: ["rbind"] }]).catch((e: unknown) => e);
    expect(isKind(error, "NotImplemented")).toBe(true);
  });
});
