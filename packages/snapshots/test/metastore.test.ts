import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ErrorKind, kindOf } from "@berth/api";
import { Metastore, diskUsage } from "@berth/snapshots";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

let dir = "";
let store: Metastore;

function kindOfThrow(action: () => unknown): ErrorKind | "none" {
  try {
    action();
    return "none";
  } catch (error) {
    return kindOf(error);
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-test-metastore-"));
  store = Metastore.open(join(dir, "metadata.db"));
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** committed chain c1 <- c2 <- c3, made through prepare and commit. */
function chain(): void {
  store.update((tx) => {
    let parent = "";
    for (const name of ["c1", "c2", "c3"]) {
      tx.createSnapshot("active", `${name}-active`, parent);
      tx.commitActive(`${name}-active`, name, { size: 10, inodes: 1 });
      parent = name;
    }
  });
}

describe("Metastore", () => {
  it("gives each new snapshot the next id and its parents' ids, nearest first", () => {
    chain();
    const active = store.update((tx) => tx.createSnapshot("active", "a", "c3", { x: "1" }));
    expect(active).toEqual({ id: 4, kind: "active", parentIds: [3, 2, 1] });
    expect(store.view((tx) => tx.getSnapshot("a"))).toEqual(active);
    const view = store.update((tx) => tx.createSnapshot("view", "v", ""));
    expect(view).toEqual({ id: 5, kind: "view", parentIds: [] });
    expect(store.view((tx) => tx.ids())).toEqual(
      new Map([
        [1, "c1"],
        [2, "c2"],
        [3, "c3"],
        [4, "a"],
        [5, "v"],
      ]),
    );
  });

  it("throws the contract's kinds from createSnapshot, and a failure keeps nothing", () => {
    chain();
    store.update((tx) => tx.createSnapshot("active", "a", "c1"));
    store.update((tx) => tx.createSnapshot("view", "v", "c1"));
    const create = (key: string, parent: string, labels?: Record<string, string>) =>
      kindOfThrow(() => store.update((tx) => tx.createSnapshot("active", key, parent, labels)));
    expect(create("a", "")).toBe("AlreadyExists");
    expect(create("c1", "")).toBe("AlreadyExists");
    expect(create("new", "missing")).toBe("NotFound");
    expect(create("new", "a")).toBe("InvalidArgument");
    expect(create("new", "v")).toBe("InvalidArgument");
    expect(create("", "")).toBe("InvalidArgument");
    expect(create("x".repeat(2000), "")).toBe("InvalidArgument");
    expect(create("new", "", { big: "x".repeat(5000) })).toBe("InvalidArgument");
    expect(store.view((tx) => [...tx.ids().values()])).toEqual(["c1", "c2", "c3", "a", "v"]);
    expect(store.update((tx) => tx.createSnapshot("active", "new", "")).id, "no id was used up").toBe(6);
  });

  it("undoes everything a transaction wrote when its function throws, so storage made for an id can fail", () => {
    expect(() =>
      store.update((tx) => {
        tx.createSnapshot("active", "a", "");
        throw new Error("mkdir failed");
      }),
    ).toThrow("mkdir failed");
    expect(kindOfThrow(() => store.view((tx) => tx.getSnapshot("a")))).toBe("NotFound");
    expect(store.update((tx) => tx.createSnapshot("active", "a", "")).id, "the id was not used up").toBe(1);
    expect(() => store.update(async () => undefined)).toThrow(TypeError);
  });

  it("getSnapshot refuses committed snapshots; getInfo gives any kind with its usage", () => {
    chain();
    expect(kindOfThrow(() => store.view((tx) => tx.getSnapshot("c1")))).toBe("FailedPrecondition");
    expect(kindOfThrow(() => store.view((tx) => tx.getSnapshot("nope")))).toBe("NotFound");
    expect(kindOfThrow(() => store.view((tx) => tx.getInfo("nope")))).toBe("NotFound");
    const { id, info, usage } = store.view((tx) => tx.getInfo("c2"));
    expect(id).toBe(2);
    expect(info).toMatchObject({ name: "c2", parent: "c1", kind: "committed", labels: {} });
    expect(usage).toEqual({ size: 10, inodes: 1 });
  });

  it("commits atomically, keeping the id and replacing the labels; errors leave the key active", () => {
    store.update((tx) => tx.createSnapshot("active", "taken", ""));
    store.update((tx) => tx.createSnapshot("active", "a", "", { old: "1" }));
    store.update((tx) => tx.createSnapshot("view", "v", ""));
    const commit = (key: string, name: string) => kindOfThrow(() => store.update((tx) => tx.commitActive(key, name, { size: 1, inodes: 1 })));
    expect(commit("missing", "n")).toBe("NotFound");
    expect(commit("v", "n")).toBe("FailedPrecondition");
    expect(commit("a", "taken")).toBe("AlreadyExists");
    expect(commit("a", "a")).toBe("AlreadyExists");
    expect(store.view((tx) => tx.getSnapshot("a"))).toEqual({ id: 2, kind: "active", parentIds: [] });
    expect(store.update((tx) => tx.commitActive("a", "n", { size: 4096, inodes: 2 }, { new: "2" }))).toBe(2);
    expect(store.view((tx) => tx.getInfo("n"))).toMatchObject({ id: 2, info: { kind: "committed", labels: { new: "2" } }, usage: { size: 4096, inodes: 2 } });
    expect(commit("n", "m")).toBe("FailedPrecondition");
    expect(kindOfThrow(() => store.view((tx) => tx.getInfo("a")))).toBe("NotFound");
  });

  it("refuses to remove a snapshot with children, and removes it once they are gone", () => {
    chain();
    store.update((tx) => tx.createSnapshot("view", "v", "c3"));
    expect(kindOfThrow(() => store.update((tx) => tx.remove("c3")))).toBe("FailedPrecondition");
    expect(kindOfThrow(() => store.update((tx) => tx.remove("c1")))).toBe("FailedPrecondition");
    expect(kindOfThrow(() => store.update((tx) => tx.remove("missing")))).toBe("NotFound");
    expect(store.update((tx) => tx.remove("v"))).toEqual({ id: 4, kind: "view" });
    expect(store.update((tx) => tx.remove("c3"))).toEqual({ id: 3, kind: "committed" });
    expect(store.update((tx) => tx.remove("c2"))).toEqual({ id: 2, kind: "committed" });
    expect(store.view((tx) => tx.ids())).toEqual(new Map([[1, "c1"]]));
    expect(store.update((tx) => tx.createSnapshot("active", "c2", "c1")).id, "ids are never reused").toBe(5);
  });

  it("updates labels by fieldpath and rejects other fields", () => {
    store.update((tx) => tx.createSnapshot("active", "a", "", { a: "1", b: "2" }));
    const update = (labels: Record<string, string>, fieldpaths: string[]) => store.update((tx) => tx.updateInfo({ name: "a", labels }, fieldpaths)).labels;
    expect(update({ a: "10", c: "no" }, ["labels.a"])).toEqual({ a: "10", b: "2" });
    expect(update({}, ["labels.b"])).toEqual({ a: "10" });
    expect(update({ x: "1", y: "" }, [])).toEqual({ x: "1" });
    expect(update({ z: "1" }, ["labels"])).toEqual({ z: "1" });
    expect(kindOfThrow(() => update({ z: "2" }, ["labels.z", "parent"]))).toBe("InvalidArgument");
    expect(kindOfThrow(() => update({}, ["name"]))).toBe("InvalidArgument");
    expect(store.view((tx) => tx.getInfo("a")).info.labels).toEqual({ z: "1" });
    expect(kindOfThrow(() => store.update((tx) => tx.updateInfo({ name: "missing", labels: {} }, [])))).toBe("NotFound");
    const odd = JSON.parse('{"__proto__":"p","constructor":"c"}') as Record<string, string>;
    const entries = (labels: Record<string, string>) => Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1));
    const expected = [
      ["__proto__", "p"],
      ["constructor", "c"],
      ["z", "1"],
    ];
    expect(entries(update(odd, ["labels.__proto__", "labels.constructor"])), "any key is just a key").toEqual(expected);
    expect(entries(store.view((tx) => tx.getInfo("a")).info.labels)).toEqual(expected);
  });

  it("walks with containerd filters on name, parent, kind and labels", () => {
    chain();
    store.update((tx) => tx.createSnapshot("active", "a", "c3", { role: "rootfs" }));
    store.update((tx) => tx.createSnapshot("view", "v", "c1", { role: "peek" }));
    const names = (...filters: string[]) => store.view((tx) => tx.walk(filters)).map((info) => info.name);
    expect(names()).toEqual(["a", "c1", "c2", "c3", "v"]);
    expect(names("name==c2")).toEqual(["c2"]);
    expect(names("parent==c1")).toEqual(["c2", "v"]);
    expect(names("kind==view", "kind==active")).toEqual(["a", "v"]);
    expect(names("kind==committed,parent!=c1")).toEqual(["c1", "c3"]);
    expect(names("labels.role")).toEqual(["a", "v"]);
    expect(names("labels.role==peek")).toEqual(["v"]);
    expect(names('labels.role~="^(pe|ro)"')).toEqual(["a", "v"]);
    expect(kindOfThrow(() => names("name=="))).toBe("InvalidArgument");
  });

  it("keeps its records across reopening", async () => {
    chain();
    await store.close();
    store = Metastore.open(join(dir, "metadata.db"));
    expect(store.view((tx) => tx.getInfo("c3")).info.parent).toBe("c2");
    expect(store.update((tx) => tx.createSnapshot("active", "a", "c3")).id).toBe(4);
  });
});

describe("diskUsage", () => {
  it("counts every inode once, the root included, by allocated blocks", async () => {
    const root = join(dir, "tree");
    mkdirSync(join(root, "sub"), { recursive: true });
    writeFileSync(join(root, "sub", "file"), Buffer.alloc(100_000, 1));
    linkSync(join(root, "sub", "file"), join(root, "hardlink"));
    const usage = await diskUsage(root);
    expect(usage.inodes).toBe(3);
    expect(usage.size).toBeGreaterThanOrEqual(100_000);
    expect(usage.size).toBeLessThan(200_000);
    expect(await diskUsage(join(root, "sub", "file"))).toMatchObject({ inodes: 1 });
  });
});
