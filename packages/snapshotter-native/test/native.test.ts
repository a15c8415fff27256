import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf } from "@berth/api";
import { lgetxattr, llistxattr, lsetxattr, mknod } from "@berth/libc";
import { unmountUnder, withMounts } from "@berth/mount";
import { NativeSnapshotter } from "@berth/snapshotter-native";
import { diskUsage } from "@berth/snapshots";
import { type RunningDaemon, runCommand, startStockContainerd, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

function setXattr(path: string, name: string, value: string): void {
  lsetxattr(path, name, Buffer.from(value));
}

function xattrsOf(path: string): string {
  return llistxattr(path)
    .sort()
    .map((name) => `${name}=${lgetxattr(path, name)?.toString() ?? ""}`)
    .join(",");
}

const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const S_IFSOCK = 0o140000;

/**
 * A parent tree with everything a copy can lose: owners (also of a symlink), setuid, setgid and
 * sticky bits, exact times, xattrs (also trusted.* and on a symlink and the root), a hard link,
 * a device, a FIFO, a socket and a sparse file.
 */
function fillParent(root: string): void {
  const d = join(root, "d");
  mkdirSync(join(d, "sub"), { recursive: true });
  writeFileSync(join(d, "f"), "hi\n");
  chownSync(join(d, "f"), 0, 1001);
  chmodSync(join(d, "f"), 0o4755);
  setXattr(join(d, "f"), "user.foo", "bar");
  setXattr(join(d, "f"), "trusted.t", "y");
  utimesSync(join(d, "f"), new Date("2002-02-02T00:00:00Z"), new Date("2001-01-01T00:00:00.123Z"));
  linkSync(join(d, "f"), join(d, "hard"));
  symlinkSync("../x", join(d, "sym"));
  lchownSync(join(d, "sym"), 5, 6);
  setXattr(join(d, "sym"), "trusted.l", "l");
  mknod(join(d, "null"), S_IFCHR | 0o666, 0x103);
  mknod(join(d, "fifo"), S_IFIFO | 0o600);
  mknod(join(d, "sock"), S_IFSOCK | 0o755);
  writeFileSync(join(d, "sparse"), "");
  truncateSync(join(d, "sparse"), 10 << 20);
  // Fixed times, so that two trees filled apart compare.
  for (const name of ["null", "fifo", "sock", "sparse"]) utimesSync(join(d, name), 1_500_000_000, 1_500_000_000);
  lutimesSync(join(d, "sym"), 1_500_000_001, 1_500_000_001);
  chmodSync(join(d, "sub"), 0o1777);
  utimesSync(join(d, "sub"), new Date("2003-03-03T00:00:00Z"), new Date("2003-03-03T00:00:00Z"));
  chmodSync(d, 0o2750);
  chownSync(d, 1000, 1001);
  setXattr(d, "user.dir", "x");
  setXattr(root, "user.root", "r");
  chownSync(root, 7, 8);
  chmodSync(root, 0o711);
}

/**
 * A tree as data: per path its type, mode, owner, xattrs, and for what is not a directory its
 * size, content digest, link target, device and modification time, and which path it is a hard
 * link of. Directory times are left out: containerd's copy sets them before filling them.
 */
function describeTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const inodes = new Map<bigint, string>();
  const visit = (relative: string) => {
    const path = relative === "." ? root : join(root, relative);
    const stat = lstatSync(path, { bigint: true });
    const type = stat.isDirectory()
      ? "dir"
      : stat.isSymbolicLink()
        ? "link"
        : stat.isFile()
          ? "file"
          : stat.isFIFO()
            ? "fifo"
            : stat.isSocket()
              ? "sock"
              : stat.isCharacterDevice()
                ? "char"
                : "other";
    let detail = `${type} ${(stat.mode & 0o7777n).toString(8)} ${stat.uid}:${stat.gid} [${xattrsOf(path)}]`;
    if (type !== "dir") detail += ` size=${stat.size} mtime=${stat.mtimeNs}`;
    if (type === "file") detail += ` ${createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 12)}`;
    if (type === "link") detail += ` -> ${readlinkSync(path)}`;
    if (type === "char") detail += ` rdev=${stat.rdev}`;
    const first = inodes.get(stat.ino);
    if (first !== undefined && type !== "dir") detail += ` hardlink-of ${first}`;
    else inodes.set(stat.ino, relative);
    out[relative] = detail;
    if (type === "dir") for (const name of readdirSync(path).sort()) visit(relative === "." ? name : `${relative}/${name}`);
  };
  visit(".");
  return out;
}

const context = {};
let base = "";
let root = "";
let opened: NativeSnapshotter[] = [];

function open(): NativeSnapshotter {
  const snapshotter = new NativeSnapshotter(root);
  opened.push(snapshotter);
  return snapshotter;
}

const at = (...parts: string[]) => join(root, ...parts);
const mode = (path: string) => (lstatSync(path).mode & 0o7777).toString(8);

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "berth-test-native-"));
  root = join(base, "root");
});

afterEach(async () => {
  for (const snapshotter of opened.splice(0)) await snapshotter.close().catch(() => undefined);
  await unmountUnder(base, { detach: true });
  rmSync(base, { recursive: true, force: true });
});

describe("NativeSnapshotter", () => {
  it("keeps containerd's layout: metadata.db and a directory per snapshot, none for a view of a parent", async () => {
    const s = open();
    expect(readdirSync(root).sort()).toEqual(["metadata.db", "metadata.db-lock", "snapshots"]);
    expect([mode(root), mode(at("snapshots"))]).toEqual(["700", "700"]);
    await s.prepare(context, "k1", "");
    await s.view(context, "v0", "");
    expect([mode(at("snapshots", "1")), mode(at("snapshots", "2"))]).toEqual(["755", "755"]);
    writeFileSync(at("snapshots", "1", "file"), "one");
    await s.commit(context, "c1", "k1");
    expect(readFileSync(at("snapshots", "1", "file"), "utf8"), "commit only records").toBe("one");
    await s.view(context, "v1", "c1");
    await s.prepare(context, "k2", "c1");
    expect(readdirSync(at("snapshots")).sort()).toEqual(["1", "2", "4"]);
    expect(readFileSync(at("snapshots", "4", "file"), "utf8"), "a copy of the parent").toBe("one");
    writeFileSync(at("snapshots", "4", "file"), "changed");
    expect(readFileSync(at("snapshots", "1", "file"), "utf8")).toBe("one");
    for (const key of ["v0", "v1", "k2", "c1"]) await s.remove(context, key);
    expect(readdirSync(at("snapshots"))).toEqual([]);
  });

  it("returns containerd's mounts: one rbind of the snapshot's directory, or of the parent's for a view", async () => {
    const s = open();
    const bind = (id: number, access: string) => [{ type: "bind", source: at("snapshots", String(id)), options: ["rbind", access] }];
    expect(await s.prepare(context, "k1", "")).toEqual(bind(1, "rw"));
    expect(await s.view(context, "v0", "")).toEqual(bind(2, "ro"));
    await s.commit(context, "c1", "k1");
    expect(await s.prepare(context, "k2", "c1")).toEqual(bind(3, "rw"));
    expect(await s.view(context, "v1", "c1")).toEqual(bind(1, "ro"));
    expect(await s.mounts(context, "v1")).toEqual(bind(1, "ro"));
    await withMounts(await s.mounts(context, "k2"), (dir) => writeFileSync(join(dir, "through"), "the mount"), { tempDir: base });
    expect(readFileSync(at("snapshots", "3", "through"), "utf8")).toBe("the mount");
  });

  it("copies the parent keeping owners, modes, times, xattrs, hard links and special files", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    fillParent(at("snapshots", "1"));
    const parent = describeTree(at("snapshots", "1"));
    await s.commit(context, "c1", "k1");
    await s.prepare(context, "k2", "c1");
    expect(describeTree(at("snapshots", "2"))).toEqual(parent);
    expect(parent["d/hard"]).toMatch(/hardlink-of d\/f$/);
    expect(parent["."]).toBe("dir 711 7:8 [user.root=r]");
    expect(lstatSync(at("snapshots", "2", "d", "sparse")).blocks, "a sparse file stays sparse").toBe(0);
  });

  it("counts the whole tree in usage, the parent's copy included, as containerd's native does", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    writeFileSync(at("snapshots", "1", "big"), Buffer.alloc(100_000, 1));
    await s.commit(context, "c1", "k1");
    const committed = await s.usage(context, "c1");
    expect(committed).toEqual(await diskUsage(at("snapshots", "1")));
    await s.prepare(context, "k2", "c1");
    expect(await s.usage(context, "k2")).toEqual(committed);
    await s.view(context, "v", "c1");
    expect(await s.usage(context, "v")).toEqual({ size: 0, inodes: 0 });
  });

  it("leaves nothing when a prepare fails, and cleanup removes what a crash left", async () => {
    const s = open();
    await s.prepare(context, "k1", "");
    await s.commit(context, "c1", "k1");
    await s.prepare(context, "k2", "c1");
    expect(await s.prepare(context, "k2", "c1").then(() => "made", kindOf)).toBe("AlreadyExists");
    expect(await s.prepare(context, "k3", "missing").then(() => "made", kindOf)).toBe("NotFound");
    expect(await s.prepare(context, "k3", "k2").then(() => "made", kindOf)).toBe("InvalidArgument");
    expect(readdirSync(at("snapshots")).sort()).toEqual(["1", "2"]);
    mkdirSync(at("snapshots", "new-crashed"));
    mkdirSync(at("snapshots", "rm-7"));
    mkdirSync(at("snapshots", "9"));
    await s.cleanup(context);
    expect(readdirSync(at("snapshots")).sort()).toEqual(["1", "2"]);
  });
});

/** Mounts with the snapshotter's root replaced by "<root>", so that two roots compare. */
function normalized(mounts: readonly { type: string; source: string; options: readonly string[] }[], snapshotterRoot: string) {
  return mounts.map((mount) => ({ ...mount, source: mount.source.replace(snapshotterRoot, "<root>") }));
}

it.skipIf(!stockContainerdInstalled)("returns the mounts and copies the trees stock containerd's native snapshotter does", async () => {
  let stock: RunningDaemon | undefined;
  try {
    stock = await startStockContainerd();
    if (stock === undefined) throw new Error("stock containerd did not start");
    // Its collection at start-up would take the views, which ctr does not label as roots.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stockRoot = join(stock.root, "io.containerd.snapshotter.v1.native");
    const snapshots = async (...args: string[]) => {
      const result = await runCommand(stockCtr!, ["--address", stock!.address, "snapshots", "--snapshotter", "native", ...args]);
      expect(result.code, `ctr snapshots ${args.join(" ")}: ${result.stderr}`).toBe(0);
      return result.stdout;
    };
    const ours = open();
    const steps = [
      ["prepare", "k1", ""],
      ["view", "v0", ""],
      ["commit", "c1", "k1"],
      ["prepare", "k2", "c1"],
      ["view", "v1", "c1"],
    ] as const;
    for (const [step, a, b] of steps) {
      if (step === "commit") {
        fillParent(join(stockRoot, "snapshots", "1"));
        fillParent(at("snapshots", "1"));
        await snapshots(step, a, b);
        await ours.commit(context, a, b);
        continue;
      }
      const theirs = (JSON.parse(await snapshots(step, "--mounts", a, b)) as { Type: string; Source: string; Options: string[] }[]).map((m) => ({
        type: m.Type,
        source: m.Source,
        options: m.Options,
      }));
      expect(normalized(await ours[step](context, a, b), root), `${step} ${a} ${b}`).toEqual(normalized(theirs, stockRoot));
    }
    expect(describeTree(at("snapshots", "3")), "the copy in k2").toEqual(describeTree(join(stockRoot, "snapshots", "3")));
    expect(readdirSync(at("snapshots")).sort()).toEqual(readdirSync(join(stockRoot, "snapshots")).sort());
  } finally {
    await stock?.cleanup();
  }
});
