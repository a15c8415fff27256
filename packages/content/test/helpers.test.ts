import { Readable } from "node:stream";
import { LocalContentStore, digestOf, digestOfStream, readBlob, writeBlob } from "@berth/content";
import { describe, expect, it } from "vitest";
import { kindOfFailure, randomData, sha256, useTempRoot } from "./fixtures.js";

const context = {};
const emptyDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const abcDigest = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

describe("digests", () => {
  it("digests buffers and strings", () => {
    expect(digestOf(new Uint8Array(0))).toBe(emptyDigest);
    expect(digestOf("abc")).toBe(abcDigest);
    expect(digestOf(new TextEncoder().encode("abc"))).toBe(abcDigest);
  });

  it("digests streams and counts their bytes", async () => {
    expect(await digestOfStream(Readable.from([Buffer.from("a"), Buffer.from("bc")]))).toEqual({ digest: abcDigest, size: 3 });
    expect(await digestOfStream([])).toEqual({ digest: emptyDigest, size: 0 });
    const data = randomData(3_000_000);
    const chunks = [data.subarray(0, 1), data.subarray(1, 2_000_000), data.subarray(2_000_000)];
    expect(await digestOfStream(chunks)).toEqual({ digest: sha256(data), size: data.byteLength });
  });
});

describe("writeBlob and readBlob", () => {
  const root = useTempRoot();

  it("writes a blob with labels, and counts one already present as written", async () => {
    const store = new LocalContentStore(root());
    const data = randomData(2_500_000);
    expect(await writeBlob(store, context, "w1", data, { labels: { a: "b" } })).toEqual({ digest: sha256(data), size: data.byteLength });
    expect(await writeBlob(store, context, "w2", data, { labels: { c: "d" } })).toEqual({ digest: sha256(data), size: data.byteLength });
    expect((await store.info(context, sha256(data))).labels).toEqual({ a: "b" });
    expect(await readBlob(store, context, sha256(data))).toEqual(Buffer.from(data));
    expect(await readBlob(store, context, sha256(data), 100, 50)).toEqual(Buffer.from(data.subarray(100, 150)));
    expect(await store.listStatuses(context, [])).toEqual([]);
  });

  it("resumes an ingest holding a prefix of the data and restarts one that does not", async () => {
    const store = new LocalContentStore(root());
    const data = randomData(100_000);
    const prefix = await store.writer(context, { ref: "prefix" });
    await prefix.write(data.subarray(0, 60_000));
    await prefix.close();
    await writeBlob(store, context, "prefix", data);
    expect(await readBlob(store, context, sha256(data))).toEqual(Buffer.from(data));

    const other = randomData(50_000);
    const wrong = await store.writer(context, { ref: "wrong" });
    await wrong.write(randomData(70_000));
    await wrong.close();
    await writeBlob(store, context, "wrong", other);
    expect(await readBlob(store, context, sha256(other))).toEqual(Buffer.from(other));
    expect(await store.listStatuses(context, [])).toEqual([]);
  });

  it("fails on data that does not match the expected digest, and commits nothing", async () => {
    const store = new LocalContentStore(root());
    const data = randomData(1000);
    const claimed = sha256(randomData(1000));
    expect(await kindOfFailure(() => writeBlob(store, context, "liar", data, { expected: claimed }))).toBe("FailedPrecondition");
    expect(await kindOfFailure(() => store.info(context, claimed))).toBe("NotFound");
    expect(await kindOfFailure(() => store.info(context, sha256(data)))).toBe("NotFound");
  });
});
