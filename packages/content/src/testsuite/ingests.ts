import { kindOfFailure } from "@berth/api";
import { describe, expect, it } from "vitest";
import { type Harness, expectBytes, MiB, compareTimestamps, randomData, sha256, timestampMs, uniqueRef, writeAll } from "./harness.js";

/** Writers and the ingests they leave: offsets, resumption, locking, status and abort. */
export function describeIngests(harness: () => Harness): void {
  describe("ingests", () => {
    it("tracks offset and digest while writing; status reports ref, offset, total, expected and times", async () => {
      const h = harness();
      const data = randomData(10_000);
      const digest = sha256(data);
      const ref = uniqueRef("status");
      const before = Date.now();
      const writer = await h.writer({ ref, total: data.byteLength, expected: digest });
      expect(writer.ref).toBe(ref);
      expect(await writer.status()).toMatchObject({ ref, offset: 0, total: data.byteLength });
      expect(await writer.digest()).toBe(sha256(new Uint8Array(0)));
      await writer.write(data.subarray(0, 4000));
      await writer.write(data.subarray(4000, 6000), 4000);
      expect(await writer.digest()).toBe(sha256(data.subarray(0, 6000)));
      const own = await writer.status();
      expect(own).toMatchObject({ ref, offset: 6000, total: data.byteLength });
      const status = await h.store.status(h.context, ref);
      expect(status).toMatchObject({ ref, offset: 6000, total: data.byteLength, expected: digest });
      expect(timestampMs(status.startedAt)).toBeGreaterThanOrEqual(before - 2000);
      expect(timestampMs(status.startedAt)).toBeLessThanOrEqual(Date.now() + 2000);
      expect(compareTimestamps(status.updatedAt, status.startedAt)).toBeGreaterThanOrEqual(0);
    });

    it("keeps an ingest across close and resumes it at its offset, with the digest of the bytes so far", async () => {
      const h = harness();
      const size = 2 * MiB + 512 * 1024 + 3;
      const half = 1_300_001;
      const data = randomData(size);
      const digest = sha256(data);
      const ref = uniqueRef("resume");
      const first = await h.writer({ ref, total: size, expected: digest });
      await writeAll(first, data.subarray(0, half), 0);
      await first.close();
      expect(await h.store.status(h.context, ref)).toMatchObject({ ref, offset: half, total: size });

      const second = await h.writer({ ref });
      expect(await second.status()).toMatchObject({ ref, offset: half, total: size });
      expect(await second.digest()).toBe(sha256(data.subarray(0, half)));
      await writeAll(second, data.subarray(half), half);
      expect(await second.digest()).toBe(digest);
      await second.commit(size, digest);
      expect(await h.info(digest)).toMatchObject({ digest, size });
      expectBytes(await h.read(digest), data);
      expect(await kindOfFailure(() => h.store.status(h.context, ref))).toBe("NotFound");
    });

    it("refuses a write at an offset other than the current one or 0 as OutOfRange, writing nothing", async () => {
      const h = harness();
      const head = randomData(100);
      const writer = await h.writer({ ref: uniqueRef("offsets") });
      await writer.write(head, 0);
      for (const offset of [50, 99, 101, 1000]) {
        expect(await kindOfFailure(() => writer.write(randomData(10), offset)), `offset ${offset}`).toBe("OutOfRange");
      }
      expect((await writer.status()).offset).toBe(100);
      expect(await writer.digest()).toBe(sha256(head));
      const tail = randomData(20);
      await writer.write(tail, 100);
      const data = new Uint8Array([...head, ...tail]);
      expect(await writer.digest()).toBe(sha256(data));
      await writer.commit(120, sha256(data));
      expectBytes(await h.read(sha256(data)), data);
    });

    it("restarts an ingest on a write at offset 0", async () => {
      const h = harness();
      const ref = uniqueRef("restart");
      const first = await h.writer({ ref });
      await first.write(randomData(5000));
      await first.close();
      const writer = await h.writer({ ref });
      expect((await writer.status()).offset).toBe(5000);
      const fresh = randomData(1200);
      await writer.write(fresh, 0);
      expect((await writer.status()).offset).toBe(1200);
      expect(await writer.digest()).toBe(sha256(fresh));
      expect((await h.store.status(h.context, ref)).offset).toBe(1200);
      await writer.commit(1200, sha256(fresh));
      expectBytes(await h.read(sha256(fresh)), fresh);
    });

    it("holds a ref for one writer: a second is Unavailable until the first closes or commits", async () => {
      const h = harness();
      const ref = uniqueRef("locked");
      const first = await h.writer({ ref });
      expect(await kindOfFailure(() => h.writer({ ref }))).toBe("Unavailable");
      const part = randomData(300);
      await first.write(part); // the holder is unaffected
      await first.close();

      const second = await h.writer({ ref });
      expect((await second.status()).offset).toBe(300);
      expect(await kindOfFailure(() => h.writer({ ref }))).toBe("Unavailable");
      await second.commit(300, sha256(part));

      // after the commit the ref is free, and names a new, empty ingest
      const third = await h.writer({ ref });
      expect((await third.status()).offset).toBe(0);
    });

    it("gives a ref asked for while its holder closes to the new writer once it is free, as containerd's retries do", async () => {
      const h = harness();
      const ref = uniqueRef("handover");
      const first = await h.writer({ ref });
      const part = randomData(120);
      await first.write(part);
      // asked for while still held: the first try finds the ref locked
      const pending = h.writer({ ref });
      await first.close();
      const second = await pending;
      expect((await second.status()).offset).toBe(120);
      const asked = h.writer({ ref });
      await second.commit(120, sha256(part));
      await (await asked).close();
    });

    it("lists ingests with ref filters, aborts them, and answers NotFound for unknown refs", async () => {
      const h = harness();
      const [a, b] = [uniqueRef("list-a"), uniqueRef("list-b")];
      for (const [ref, size] of [
        [a, 10],
        [b, 20],
      ] as const) {
        const writer = await h.writer({ ref });
        await writer.write(randomData(size));
        await writer.close();
      }
      const offsets = (statuses: { ref: string; offset: number }[]) => statuses.map(({ ref, offset }) => [ref, offset]);
      expect(offsets(await h.store.listStatuses(h.context, [`ref==${a}`]))).toEqual([[a, 10]]);
      const both = offsets(await h.store.listStatuses(h.context, [`ref==${a}`, `ref==${b}`]));
      expect(both).toHaveLength(2);
      expect(both).toEqual(
        expect.arrayContaining([
          [a, 10],
          [b, 20],
        ]),
      );
      expect(offsets(await h.store.listStatuses(h.context, [""]))).toEqual(
        expect.arrayContaining([
          [a, 10],
          [b, 20],
        ]),
      );
      expect(offsets(await h.store.listStatuses(h.context, [`ref~=${b.slice(-12)}$`]))).toEqual([[b, 20]]);
      expect(await kindOfFailure(() => h.store.listStatuses(h.context, ["ref=="]))).toBe("InvalidArgument");

      await h.store.abort(h.context, a);
      expect(await kindOfFailure(() => h.store.status(h.context, a))).toBe("NotFound");
      expect(await kindOfFailure(() => h.store.abort(h.context, a))).toBe("NotFound");
      expect(await h.store.listStatuses(h.context, [`ref==${a}`])).toEqual([]);
      expect((await h.store.status(h.context, b)).offset).toBe(20);

      // an aborted ref starts over
      const writer = await h.writer({ ref: a });
      expect((await writer.status()).offset).toBe(0);

      const unknown = uniqueRef("unknown");
      expect(await kindOfFailure(() => h.store.status(h.context, unknown))).toBe("NotFound");
      expect(await kindOfFailure(() => h.store.abort(h.context, unknown))).toBe("NotFound");
    });
  });
}
