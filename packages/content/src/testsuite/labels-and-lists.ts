import { kindOfFailure } from "@berth/api";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type Harness, expectBytes, compareTimestamps, randomData, sha256 } from "./harness.js";

/** Label updates, listing with filters, and deletion. */
export function describeLabelsAndLists(harness: () => Harness): void {
  describe("labels", () => {
    it("updates single labels through labels.<key> masks and replaces all without a mask or with `labels`", async () => {
      const h = harness();
      const digest = await h.commit(randomData(100), { a: "1", b: "2" });
      const created = await h.info(digest);
      const update = async (labels: Record<string, string>, fieldpaths: string[]) => {
        const updated = await h.store.update(h.context, { digest, labels }, fieldpaths);
        expect(await h.info(digest), "info agrees with what update returned").toEqual(updated);
        expect(updated).toMatchObject({ digest, size: 100, createdAt: created.createdAt });
        return updated;
      };

      const first = await update({ a: "10", c: "ignored" }, ["labels.a"]);
      expect(first.labels).toEqual({ a: "10", b: "2" });
      expect(compareTimestamps(first.updatedAt, created.updatedAt)).toBeGreaterThanOrEqual(0);
      expect((await update({}, ["labels.b"])).labels).toEqual({ a: "10" }); // absent value: removed
      expect((await update({ a: "" }, ["labels.a"])).labels).toEqual({}); // empty value: removed
      const gcKey = "containerd.io/gc.ref.content.m.0";
      expect((await update({ [gcKey]: digest, x: "y" }, [`labels.${gcKey}`, "labels.x"])).labels).toEqual({ [gcKey]: digest, x: "y" });
      const replaced = await update({ z: "26", empty: "" }, []);
      expect(replaced.labels).toEqual({ z: "26" });
      expect(compareTimestamps(replaced.updatedAt, first.updatedAt)).toBeGreaterThanOrEqual(0);
      expect((await update({ only: "this" }, ["labels"])).labels).toEqual({ only: "this" });
    });

    it("rejects other fieldpaths and oversized labels as InvalidArgument, leaving the labels unchanged", async () => {
      const h = harness();
      const digest = await h.commit(randomData(100), { keep: "me" });
      const attempts: [labels: Record<string, string>, fieldpaths: string[]][] = [
        [{ keep: "changed" }, ["size"]],
        [{ keep: "changed" }, ["labels.keep", "digest"]],
        [{ keep: "changed" }, ["label.keep"]],
        [{ big: "x".repeat(4094) }, ["labels.big"]], // "big" + value: 4097 bytes
        [{ keep: "changed", big: "x".repeat(5000) }, []],
        [{ ["k".repeat(4097)]: "v" }, ["labels"]],
      ];
      for (const [labels, fieldpaths] of attempts) {
        expect(await kindOfFailure(() => h.store.update(h.context, { digest, labels }, fieldpaths)), fieldpaths.join(",")).toBe("InvalidArgument");
        expect((await h.info(digest)).labels).toEqual({ keep: "me" });
      }
      // exactly 4096 bytes of key and value is allowed
      const updated = await h.store.update(h.context, { digest, labels: { big: "x".repeat(4093) } }, ["labels.big"]);
      expect(updated.labels.big).toHaveLength(4093);
    });
  });

  describe("list and delete", () => {
    it("lists blobs by digest and labels.<key>; several filters are OR'ed", async () => {
      const h = harness();
      const token = randomUUID();
      const one = await h.commit(randomData(10), { "test.example/token": token, kind: "a" });
      const two = await h.commit(randomData(20), { "test.example/token": token, kind: "b" });
      const three = await h.commit(randomData(30), { "test.example/token": token });
      const unlabelled = await h.commit(randomData(40));
      const sorted = (...digests: string[]) => [...digests].sort();
      const byToken = `labels."test.example/token"==${token}`;

      expect(await h.listDigests([byToken])).toEqual(sorted(one, two, three));
      expect(await h.listDigests([`${byToken},labels.kind==a`])).toEqual([one]);
      expect(await h.listDigests([`${byToken},labels.kind`])).toEqual(sorted(one, two));
      expect(await h.listDigests([`${byToken},labels.kind!=a`])).toEqual(sorted(two, three));
      expect(await h.listDigests([`digest==${two}`])).toEqual([two]);
      expect(await h.listDigests([`digest==${one}`, `digest==${unlabelled}`])).toEqual(sorted(one, unlabelled));
      expect(await h.listDigests([`digest==${sha256(randomData(5))}`])).toEqual([]);
      const all = await h.list([]);
      expect(all.map((info) => info.digest)).toEqual(expect.arrayContaining([one, two, three, unlabelled]));
      expect(all.find((info) => info.digest === one)).toMatchObject({ size: 10, labels: { "test.example/token": token, kind: "a" } });
      expect(all.find((info) => info.digest === unlabelled)).toMatchObject({ size: 40, labels: {} });
      expect(await kindOfFailure(() => h.list(["digest=="]))).toBe("InvalidArgument");
    });

    it("deletes a blob: NotFound afterwards, gone from lists, and committable again without its old labels", async () => {
      const h = harness();
      const data = randomData(1000);
      const digest = await h.commit(data, { old: "label" });
      await h.store.delete(h.context, digest);
      expect(await kindOfFailure(() => h.info(digest))).toBe("NotFound");
      expect(await kindOfFailure(() => h.read(digest))).toBe("NotFound");
      expect(await kindOfFailure(() => h.store.update(h.context, { digest, labels: { a: "b" } }, []))).toBe("NotFound");
      expect(await kindOfFailure(() => h.store.delete(h.context, digest))).toBe("NotFound");
      expect(await h.listDigests([`digest==${digest}`])).toEqual([]);

      await h.commit(data);
      expect(await h.info(digest)).toMatchObject({ digest, size: 1000, labels: {} });
      expectBytes(await h.read(digest), data);
    });
  });
}
