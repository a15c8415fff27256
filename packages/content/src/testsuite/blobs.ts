import { kindOfFailure } from "@berth/api";
import { describe, expect, it } from "vitest";
import { type Harness, expectBytes, MiB, randomData, sha256, timestampMs, uniqueRef, writeAll } from "./harness.js";

/** Round trips, reads and the checks a commit makes. */
export function describeBlobs(harness: () => Harness): void {
  describe("blobs", () => {
    it("commits a small blob that info describes and read returns", async () => {
      const h = harness();
      const data = randomData(300);
      const before = Date.now();
      const digest = await h.commit(data, { "test.example/kind": "small" });
      const after = Date.now();
      const info = await h.info(digest);
      expect(info).toMatchObject({ digest, size: 300, labels: { "test.example/kind": "small" } });
      expect(timestampMs(info.createdAt)).toBeGreaterThanOrEqual(before - 2000);
      expect(timestampMs(info.createdAt)).toBeLessThanOrEqual(after + 2000);
      expect(timestampMs(info.updatedAt)).toBeGreaterThanOrEqual(timestampMs(info.createdAt) - 1);
      expectBytes(await h.read(digest), data);
    });

    it("commits an empty blob", async () => {
      const h = harness();
      const empty = new Uint8Array(0);
      const writer = await h.writer({ ref: uniqueRef("empty") });
      await writer.commit(0, sha256(empty));
      expect(await h.info(sha256(empty))).toMatchObject({ digest: sha256(empty), size: 0, labels: {} });
      expectBytes(await h.read(sha256(empty)), empty);
    });

    it("streams a multi-MiB blob in chunks of at most 1 MiB, from any offset, for any length", async () => {
      const h = harness();
      const size = 3 * MiB + 512 * 1024 + 7;
      const data = randomData(size);
      const digest = sha256(data);
      const writer = await h.writer({ ref: uniqueRef("large"), total: size, expected: digest });
      await writeAll(writer, data, 0, 700 * 1024 + 3); // chunk sizes that straddle MiB boundaries
      await writer.commit(size, digest);
      expect(await h.info(digest)).toMatchObject({ digest, size });

      const chunks = await h.chunks(digest);
      expect(chunks.length).toBeGreaterThanOrEqual(4);
      for (const chunk of chunks) expect(chunk.byteLength).toBeLessThanOrEqual(MiB);
      expectBytes(await h.read(digest), data);

      const cases: [offset: number, length: number, start: number, end: number][] = [
        [1000, 5000, 1000, 6000],
        [7, 64 * 1024, 7, 7 + 64 * 1024], // a store may read small ranges another way than large ones
        [7, 64 * 1024 + 1, 7, 7 + 64 * 1024 + 1],
        [MiB - 3, 2 * MiB + 10, MiB - 3, 3 * MiB + 7],
        [size - 10, 0, size - 10, size],
        [size - 10, 100, size - 10, size], // past the end: to the end
        [size, 0, size, size],
        [-5, 10, 0, 10], // a negative offset reads from 0
        [2 * MiB + 1, -1, 2 * MiB + 1, size],
      ];
      for (const [offset, length, start, end] of cases) {
        expectBytes(await h.read(digest, offset, length), data.subarray(start, end), `read(${offset}, ${length})`);
      }
    });

    it("refuses to read from beyond the end as OutOfRange", async () => {
      const h = harness();
      const digest = await h.commit(randomData(100));
      expect(await kindOfFailure(() => h.read(digest, 101))).toBe("OutOfRange");
      expect(await kindOfFailure(() => h.read(digest, 10 * MiB, 1))).toBe("OutOfRange");
    });

    it("answers NotFound for a well-formed digest it does not hold", async () => {
      const h = harness();
      const absent = sha256(randomData(32));
      expect(await kindOfFailure(() => h.info(absent))).toBe("NotFound");
      expect(await kindOfFailure(() => h.read(absent))).toBe("NotFound");
      expect(await kindOfFailure(() => h.store.delete(h.context, absent))).toBe("NotFound");
      expect(await kindOfFailure(() => h.store.update(h.context, { digest: absent, labels: { a: "b" } }, []))).toBe("NotFound");
    });

    it("rejects malformed digests as InvalidArgument everywhere", async () => {
      const h = harness();
      const hex = sha256(randomData(8)).slice("sha256:".length);
      const malformed = [
        "",
        "sha256:",
        `sha256:${hex.slice(1)}`,
        `sha256:${hex.toUpperCase()}`,
        `sha512:${hex}${hex}`,
        `sha256:${"g".repeat(64)}`,
        `sha256:${hex}\n`,
        hex,
      ];
      for (const digest of malformed) {
        const label = JSON.stringify(digest);
        expect(await kindOfFailure(() => h.info(digest)), `info ${label}`).toBe("InvalidArgument");
        expect(await kindOfFailure(() => h.read(digest)), `read ${label}`).toBe("InvalidArgument");
        expect(await kindOfFailure(() => h.store.delete(h.context, digest)), `delete ${label}`).toBe("InvalidArgument");
        expect(await kindOfFailure(() => h.store.update(h.context, { digest, labels: {} }, [])), `update ${label}`).toBe("InvalidArgument");
        if (digest !== "") {
          expect(await kindOfFailure(() => h.writer({ ref: uniqueRef("bad-expected"), expected: digest })), `writer ${label}`).toBe("InvalidArgument");
        }
      }
    });

    it("refuses a writer without a ref as InvalidArgument", async () => {
      const h = harness();
      expect(await kindOfFailure(() => h.writer({ ref: "" }))).toBe("InvalidArgument");
    });
  });

  describe("commit checks", () => {
    it("fails a commit of the wrong size or digest with FailedPrecondition, commits nothing and keeps the ingest", async () => {
      const h = harness();
      const data = randomData(64 * 1024 + 1);
      const digest = sha256(data);
      const ref = uniqueRef("mismatch");
      const attempts: [size: number, expected: string][] = [
        [data.byteLength + 1, digest],
        [data.byteLength - 1, ""],
        [data.byteLength, sha256(randomData(16))],
        [0, sha256(data.subarray(1))],
      ];
      for (const [index, [size, expected]] of attempts.entries()) {
        // a failed commit ends its writer and frees the ref; the ingest is resumed each time
        const writer = await h.writer({ ref });
        if (index === 0) await writeAll(writer, data, 0);
        expect((await writer.status()).offset).toBe(data.byteLength);
        expect(await kindOfFailure(() => writer.commit(size, expected)), `commit(${size}, ${expected})`).toBe("FailedPrecondition");
        expect(await kindOfFailure(() => h.info(digest))).toBe("NotFound");
        expect(await kindOfFailure(() => h.read(digest))).toBe("NotFound");
        expect(await h.listDigests([`digest==${digest}`])).toEqual([]);
        expect(await h.store.status(h.context, ref)).toMatchObject({ ref, offset: data.byteLength });
      }
      const writer = await h.writer({ ref });
      await writer.commit(data.byteLength, digest);
      expectBytes(await h.read(digest), data);
      expect(await kindOfFailure(() => h.store.status(h.context, ref))).toBe("NotFound");
    });

    it("fails a commit with an oversized label as InvalidArgument and commits nothing", async () => {
      const h = harness();
      const data = randomData(500);
      const writer = await h.writer({ ref: uniqueRef("bad-label") });
      await writer.write(data);
      expect(await kindOfFailure(() => writer.commit(data.byteLength, sha256(data), { big: "x".repeat(4096) }))).toBe("InvalidArgument");
      expect(await kindOfFailure(() => h.info(sha256(data)))).toBe("NotFound");
    });

    it("fails a commit of a digest already present with AlreadyExists, leaving the blob and its labels alone and no ingest", async () => {
      const h = harness();
      const data = randomData(4096);
      const digest = await h.commit(data, { first: "yes" });
      const ref = uniqueRef("again");
      const writer = await h.writer({ ref });
      await writer.write(data);
      expect(await kindOfFailure(() => writer.commit(data.byteLength, digest, { second: "yes" }))).toBe("AlreadyExists");
      expect((await h.info(digest)).labels).toEqual({ first: "yes" });
      expectBytes(await h.read(digest), data);
      expect(await kindOfFailure(() => h.store.status(h.context, ref))).toBe("NotFound");
    });

    it("refuses a writer whose expected digest is already committed as AlreadyExists", async () => {
      const h = harness();
      const data = randomData(2048);
      const digest = await h.commit(data);
      expect(await kindOfFailure(() => h.writer({ ref: uniqueRef("present"), total: data.byteLength, expected: digest }))).toBe("AlreadyExists");
      // an expected digest that is not there yet is fine
      const other = randomData(10);
      const writer = await h.writer({ ref: uniqueRef("absent"), total: 10, expected: sha256(other) });
      await writer.write(other);
      await writer.commit(10, sha256(other));
      expectBytes(await h.read(sha256(other)), other);
    });
  });
}
