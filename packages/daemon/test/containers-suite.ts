import { type Any, type CallContext, type ContainerStore, type NewContainer, jsonTypeUrls, kindOf, packJson } from "@berth/api";
import { describe, expect, it } from "vitest";

/** What the suite needs: the store under test and a fresh namespace per test. */
export interface ContainerStoreFixture {
  readonly containers: ContainerStore;
  namespace(): string;
}

export const specAny = (args: string[] = ["sh"]): Any =>
  packJson(jsonTypeUrls.runtimeSpec, { ociVersion: "1.0.2-dev", process: { args }, root: { path: "rootfs" } });

export function newContainer(id: string, overrides: Partial<NewContainer> = {}): NewContainer {
  return {
    id,
    labels: {},
    image: "docker.io/library/busybox:latest",
    runtime: { name: "io.containerd.runc.v2", options: undefined },
    spec: specAny(),
    snapshotter: "",
    snapshotKey: "",
    extensions: {},
    sandbox: "",
    ...overrides,
  };
}

async function kindOfCall(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "ok",
    (error: unknown) => kindOf(error),
  );
}

/**
 * The Containers contract, checked by error kind (never message text), so that it runs the same
 * against berthd and against a stock containerd.
 */
export function describeContainerStoreConformance(name: string, fixture: () => ContainerStoreFixture): void {
  describe(`container store conformance: ${name}`, () => {
    const setup = () => {
      const { containers, namespace } = fixture();
      return { containers, context: { namespace: namespace() } satisfies CallContext };
    };

    it("creates, gets and lists a container with every field kept", async () => {
      const { containers, context } = setup();
      const options: Any = { typeUrl: "containerd.runc.v1.Options", value: Buffer.alloc(0) };
      const extension: Any = { typeUrl: "example.com/ext", value: Buffer.from([1, 2, 3]) };
      const created = await containers.create(
        context,
        newContainer("full", {
          labels: { a: "1", empty: "" },
          runtime: { name: "io.containerd.runc.v2", options },
          snapshotter: "overlayfs",
          snapshotKey: "full-key",
          extensions: { ext: extension },
        }),
      );
      expect(created.createdAt.seconds).toBeGreaterThan(0);
      expect(created.updatedAt).toEqual(created.createdAt);
      const got = await containers.get(context, "full");
      expect(got).toMatchObject({
        id: "full",
        labels: { a: "1" },
        image: "docker.io/library/busybox:latest",
        snapshotter: "overlayfs",
        snapshotKey: "full-key",
      });
      expect(got.labels).not.toHaveProperty("empty");
      expect(got.runtime.name).toBe("io.containerd.runc.v2");
      expect(got.runtime.options?.typeUrl).toBe("containerd.runc.v1.Options");
      expect(got.spec?.typeUrl).toBe(jsonTypeUrls.runtimeSpec);
      expect(JSON.parse(Buffer.from(got.spec!.value).toString())).toMatchObject({ process: { args: ["sh"] } });
      expect(Buffer.from(got.extensions.ext!.value)).toEqual(Buffer.from([1, 2, 3]));
      expect(got.createdAt).toEqual(created.createdAt);
      expect((await containers.list(context, [])).map((c) => c.id)).toEqual(["full"]);
    });

    it("refuses invalid containers with InvalidArgument and stores nothing", async () => {
      const { containers, context } = setup();
      const bad: [string, NewContainer][] = [
        ["bad id", newContainer("no/slashes")],
        ["empty id", newContainer("")],
        ["no runtime", newContainer("c", { runtime: { name: "", options: undefined } })],
        ["no spec", newContainer("c", { spec: undefined })],
        ["snapshot key without snapshotter", newContainer("c", { snapshotKey: "k" })],
        ["oversized label", newContainer("c", { labels: { big: "x".repeat(5000) } })],
      ];
      for (const [what, container] of bad) expect([what, await kindOfCall(containers.create(context, container))]).toEqual([what, "InvalidArgument"]);
      expect(await containers.list(context, [])).toEqual([]);
    });

    it("says AlreadyExists for a taken id and keeps the first", async () => {
      const { containers, context } = setup();
      await containers.create(context, newContainer("twice", { image: "first" }));
      expect(await kindOfCall(containers.create(context, newContainer("twice", { image: "second" })))).toBe("AlreadyExists");
      expect((await containers.get(context, "twice")).image).toBe("first");
    });

    it("says NotFound for a container that does not exist", async () => {
      const { containers, context } = setup();
      expect(await kindOfCall(containers.get(context, "missing"))).toBe("NotFound");
      expect(await kindOfCall(containers.delete(context, "missing"))).toBe("NotFound");
      expect(await kindOfCall(containers.update(context, newContainer("missing"), ["labels"]))).toBe("NotFound");
    });

    it("updates the fields a mask names and nothing else", async () => {
      const { containers, context } = setup();
      const created = await containers.create(context, newContainer("u", { labels: { keep: "1", drop: "2" }, snapshotter: "overlayfs", snapshotKey: "k1" }));
      const labelled = await containers.update(context, newContainer("u", { labels: { drop: "", added: "3" }, image: "ignored" }), [
        "labels.drop",
        "labels.added",
      ]);
      expect(labelled.labels).toEqual({ keep: "1", added: "3" });
      expect(labelled.image).toBe("docker.io/library/busybox:latest");
      expect(labelled.createdAt).toEqual(created.createdAt);
      const changed = await containers.update(context, newContainer("u", { image: "other", spec: specAny(["true"]), snapshotKey: "k2" }), [
        "image",
        "spec",
        "snapshotkey",
      ]);
      expect(changed).toMatchObject({ image: "other", snapshotKey: "k2", snapshotter: "overlayfs", labels: { keep: "1", added: "3" } });
      expect(JSON.parse(Buffer.from(changed.spec!.value).toString()).process.args).toEqual(["true"]);
      const extension: Any = { typeUrl: "example.com/ext", value: Buffer.from("x") };
      const extended = await containers.update(context, newContainer("u", { extensions: { e: extension } }), ["extensions.e"]);
      expect(Object.keys(extended.extensions)).toEqual(["e"]);
      const replaced = await containers.update(context, newContainer("u", { labels: { only: "this" }, snapshotter: "overlayfs", snapshotKey: "k3" }), []);
      expect(replaced).toMatchObject({ labels: { only: "this" }, image: "docker.io/library/busybox:latest", snapshotKey: "k3" });
      expect(replaced.extensions).toEqual({});
    });

    it("refuses updates containerd refuses, leaving the record as it was", async () => {
      const { containers, context } = setup();
      await containers.create(context, newContainer("r", { labels: { a: "1" }, snapshotter: "overlayfs", snapshotKey: "k" }));
      const before = await containers.get(context, "r");
      const refusals: [string, () => Promise<unknown>][] = [
        ["unknown path", () => containers.update(context, newContainer("r", { labels: { a: "2" } }), ["labels.a", "runtime"])],
        ["snapshotter path", () => containers.update(context, newContainer("r", { snapshotter: "btrfs" }), ["snapshotter"])],
        [
          "runtime changed on replace",
          () =>
            containers.update(context, newContainer("r", { runtime: { name: "io.containerd.other.v1", options: undefined }, snapshotter: "overlayfs" }), []),
        ],
        ["snapshotter changed on replace", () => containers.update(context, newContainer("r", { snapshotter: "btrfs" }), [])],
        ["spec removed", () => containers.update(context, newContainer("r", { spec: undefined }), ["spec"])],
        ["no id", () => containers.update(context, newContainer(""), ["labels"])],
        ["oversized label", () => containers.update(context, newContainer("r", { labels: { a: "x".repeat(5000) } }), ["labels.a"])],
      ];
      for (const [what, call] of refusals) expect([what, await kindOfCall(call())]).toEqual([what, "InvalidArgument"]);
      expect(await containers.get(context, "r")).toEqual(before);
    });

    it("filters listings by id, image, runtime.name and labels; several filters are OR'ed", async () => {
      const { containers, context } = setup();
      await containers.create(context, newContainer("one", { labels: { tier: "web" }, image: "example.com/web:1" }));
      await containers.create(context, newContainer("two", { labels: { tier: "db", "a.b": "dotted" }, image: "example.com/db:1" }));
      await containers.create(context, newContainer("three", { runtime: { name: "io.containerd.other.v1", options: undefined } }));
      const ids = async (...filters: string[]) => (await containers.list(context, filters)).map((c) => c.id).sort();
      expect(await ids("labels.tier==web")).toEqual(["one"]);
      expect(await ids("labels.tier")).toEqual(["one", "two"]);
      expect(await ids('labels."a.b"==dotted')).toEqual(["two"]);
      expect(await ids("id==two")).toEqual(["two"]);
      expect(await ids("image~=example\\.com/")).toEqual(["one", "two"]);
      expect(await ids("runtime.name==io.containerd.other.v1")).toEqual(["three"]);
      expect(await ids("id==one", "id==three")).toEqual(["one", "three"]);
      expect(await ids("labels.tier==web,image~=db")).toEqual([]);
      expect(await kindOfCall(containers.list(context, ["id=="]))).toBe("InvalidArgument");
    });

    it("deletes a container, which another namespace never sees", async () => {
      const { containers, context } = setup();
      const other = { namespace: fixture().namespace() };
      await containers.create(context, newContainer("gone"));
      await containers.create(other, newContainer("gone", { image: "elsewhere" }));
      await containers.delete(context, "gone");
      expect(await kindOfCall(containers.get(context, "gone"))).toBe("NotFound");
      expect((await containers.get(other, "gone")).image).toBe("elsewhere");
      await containers.delete(other, "gone");
    });

    it("requires a namespace", async () => {
      const { containers } = setup();
      expect(await kindOfCall(containers.list({}, []))).toBe("FailedPrecondition");
      expect(await kindOfCall(containers.create({}, newContainer("c")))).toBe("FailedPrecondition");
    });
  });
}
