import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LocalContentStore, readBlob } from "@berth/content";
import { describe, expect, it } from "vitest";
import { kindOfFailure, randomData, sha256, sha256Hex, useTempRoot } from "./fixtures.js";

const context = {};
const rfc3339Nano = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

describe("LocalContentStore on disk", () => {
  const root = useTempRoot();
  const blobFiles = () => (existsSync(join(root(), "blobs", "sha256")) ? readdirSync(join(root(), "blobs", "sha256")) : []);
  const ingestDir = (ref: string) => join(root(), "ingest", sha256Hex(ref));

  it("lays out an ingest like containerd while writing, then a read-only blob, its labels, and no ingest", async () => {
    const store = new LocalContentStore(root());
    const data = randomData(3000);
    const digest = sha256(data);
    const ref = "layer-sha256:abc";
    const writer = await store.writer(context, { ref, total: 3000, expected: digest });
    await writer.write(data.subarray(0, 1000));

    const dir = ingestDir(ref);
    expect(readdirSync(dir).sort()).toEqual(["data", "expected", "lock", "ref", "startedat", "total", "updatedat"]);
    expect(readFileSync(join(dir, "data"))).toEqual(Buffer.from(data.subarray(0, 1000)));
    expect(readFileSync(join(dir, "ref"), "utf8")).toBe(ref);
    expect(readFileSync(join(dir, "total"), "utf8")).toBe("3000");
    expect(readFileSync(join(dir, "expected"), "utf8")).toBe(digest);
    expect(readFileSync(join(dir, "startedat"), "utf8")).toMatch(rfc3339Nano);
    expect(readFileSync(join(dir, "updatedat"), "utf8")).toMatch(rfc3339Nano);
    expect(readFileSync(join(dir, "lock"), "utf8").split(" ")[0]).toBe(String(process.pid));
    expect(blobFiles()).toEqual([]);

    await writer.write(data.subarray(1000));
    await writer.commit(3000, digest, { "containerd.io/gc.root": "now", dropped: "" });
    const blob = join(root(), "blobs", "sha256", digest.slice(7));
    expect(statSync(blob).mode & 0o777).toBe(0o444);
    expect(readFileSync(blob)).toEqual(Buffer.from(data));
    expect(readdirSync(join(root(), "ingest"))).toEqual([]);
    const sidecar = JSON.parse(readFileSync(join(root(), "labels", "sha256", `${digest.slice(7)}.json`), "utf8"));
    expect(sidecar.labels).toEqual({ "containerd.io/gc.root": "now" });

    const info = await store.info(context, digest);
    const mtimeMs = statSync(blob).mtimeMs;
    expect(Math.abs(info.createdAt.seconds * 1000 + info.createdAt.nanos / 1e6 - mtimeMs)).toBeLessThan(1);
    expect(info.updatedAt).toEqual(info.createdAt);
  });

  it("re-hashes a resumed ingest, so bytes changed on disk fail the commit and nothing reaches blobs/", async () => {
    const store = new LocalContentStore(root());
    const data = randomData(200_000);
    const ref = "tampered";
    const first = await store.writer(context, { ref, total: data.byteLength, expected: sha256(data) });
    await first.write(data.subarray(0, 100_000));
    await first.close();

    const path = join(ingestDir(ref), "data");
    const onDisk = readFileSync(path);
    onDisk[1234] = (onDisk[1234] ?? 0) ^ 0xff;
    writeFileSync(path, onDisk);

    const second = await store.writer(context, { ref });
    expect(await second.digest()).toBe(sha256(onDisk));
    await second.write(data.subarray(100_000), 100_000);
    expect(await kindOfFailure(() => second.commit(data.byteLength, sha256(data)))).toBe("FailedPrecondition");
    expect(blobFiles()).toEqual([]);
    expect((await store.status(context, ref)).offset).toBe(data.byteLength);
  });

  it("leaves nothing in blobs/ after commits of the wrong size or digest, and the ingest data writable", async () => {
    const store = new LocalContentStore(root());
    const data = randomData(5000);
    const ref = "mismatch";
    let writer = await store.writer(context, { ref });
    await writer.write(data);
    expect(await kindOfFailure(() => writer.commit(4999, ""))).toBe("FailedPrecondition");
    writer = await store.writer(context, { ref });
    expect(await kindOfFailure(() => writer.commit(5000, sha256("something else")))).toBe("FailedPrecondition");
    expect(blobFiles()).toEqual([]);
    expect(statSync(join(ingestDir(ref), "data")).mode & 0o200).toBe(0o200);
    expect(existsSync(join(ingestDir(ref), "lock"))).toBe(false);
  });

  it("lets a resuming writer replace the ingest's total and expected digest", async () => {
    const store = new LocalContentStore(root());
    const data = randomData(100);
    const first = await store.writer(context, { ref: "retarget", total: 50, expected: sha256("old") });
    await first.write(data.subarray(0, 40));
    await first.close();
    const kept = await store.writer(context, { ref: "retarget" });
    expect(await kept.status()).toMatchObject({ offset: 40, total: 50, expected: sha256("old") });
    await kept.close();
    const second = await store.writer(context, { ref: "retarget", total: 100, expected: sha256(data) });
    expect(await second.status()).toMatchObject({ offset: 40, total: 100, expected: sha256(data) });
    expect(await store.status(context, "retarget")).toMatchObject({ offset: 40, total: 100, expected: sha256(data) });
    await second.close();
  });

  it("removes the ingest when the committed digest is already present", async () => {
    const store = new LocalContentStore(root());
    const data = randomData(100);
    const first = await store.writer(context, { ref: "one" });
    await first.write(data);
    await first.commit(100, sha256(data));
    const second = await store.writer(context, { ref: "two" });
    await second.write(data);
    expect(await kindOfFailure(() => second.commit(100, sha256(data)))).toBe("AlreadyExists");
    expect(existsSync(ingestDir("two"))).toBe(false);
    expect(readdirSync(join(root(), "ingest"))).toEqual([]);
  });

  it("refuses to abort an ingest a writer holds, here or in another store instance, until it closes", async () => {
    const store = new LocalContentStore(root());
    const other = new LocalContentStore(root());
    const writer = await store.writer(context, { ref: "held" });
    await writer.write(randomData(10));
    expect(await kindOfFailure(() => store.abort(context, "held"))).toBe("Unavailable");
    expect(await kindOfFailure(() => other.abort(context, "held"))).toBe("Unavailable");
    expect((await store.status(context, "held")).offset).toBe(10);
    await writer.close();
    await other.abort(context, "held");
    expect(existsSync(ingestDir("held"))).toBe(false);
  });

  it("ends a writer at commit or close: later writes are FailedPrecondition, close is idempotent", async () => {
    const store = new LocalContentStore(root());
    const committed = await store.writer(context, { ref: "a" });
    await committed.write(randomData(10));
    await committed.commit(10, "");
    expect(await kindOfFailure(() => committed.write(randomData(1)))).toBe("FailedPrecondition");
    expect(await kindOfFailure(() => committed.commit(10, ""))).toBe("FailedPrecondition");
    await committed.close();
    const closed = await store.writer(context, { ref: "b" });
    await closed.close();
    await closed.close();
    expect(await kindOfFailure(() => closed.write(randomData(1)))).toBe("FailedPrecondition");
    expect(await kindOfFailure(() => closed.truncate(0))).toBe("FailedPrecondition");
  });

  it("truncates to a prefix, keeping the digest right, and refuses to grow", async () => {
    const store = new LocalContentStore(root());
    const data = randomData(1000);
    const writer = await store.writer(context, { ref: "truncate" });
    await writer.write(data);
    await writer.truncate(400);
    expect(await writer.digest()).toBe(sha256(data.subarray(0, 400)));
    expect(await kindOfFailure(() => writer.truncate(401))).toBe("OutOfRange");
    expect(await kindOfFailure(() => writer.truncate(-1))).toBe("InvalidArgument");
    await writer.write(data.subarray(400), 400);
    await writer.commit(1000, sha256(data));
    expect(await readBlob(store, context, sha256(data))).toEqual(Buffer.from(data));
  });

  it("runs a writer's operations in call order, even when not awaited one by one", async () => {
    const store = new LocalContentStore(root());
    const data = randomData(300_000);
    const writer = await store.writer(context, { ref: "pipelined" });
    const pending = [0, 100_000, 200_000].map((offset) => writer.write(data.subarray(offset, offset + 100_000), offset));
    pending.push(writer.commit(300_000, sha256(data)));
    await Promise.all(pending);
    expect(await readBlob(store, context, sha256(data))).toEqual(Buffer.from(data));
  });

  it("keeps labels in a sidecar that update rewrites and delete removes", async () => {
    const store = new LocalContentStore(root());
    const data = randomData(10);
    const writer = await store.writer(context, { ref: "labelled" });
    await writer.write(data);
    await writer.commit(10, sha256(data));
    const sidecar = join(root(), "labels", "sha256", `${sha256(data).slice(7)}.json`);
    expect(existsSync(sidecar)).toBe(false);
    const updated = await store.update(context, { digest: sha256(data), labels: { a: "b" } }, []);
    expect(JSON.parse(readFileSync(sidecar, "utf8")).labels).toEqual({ a: "b" });
    expect(readdirSync(join(root(), "labels", "sha256"))).toEqual([`${sha256(data).slice(7)}.json`]); // no temp files
    // a fresh instance reads the same labels and times
    expect(await new LocalContentStore(root()).info(context, sha256(data))).toEqual(updated);
    await store.delete(context, sha256(data));
    expect(existsSync(sidecar)).toBe(false);
  });

  it("reports a damaged labels sidecar as DataLoss rather than dropping the labels", async () => {
    const store = new LocalContentStore(root());
    const data = randomData(10);
    const writer = await store.writer(context, { ref: "damaged" });
    await writer.write(data);
    await writer.commit(10, sha256(data), { "containerd.io/gc.root": "x" });
    writeFileSync(join(root(), "labels", "sha256", `${sha256(data).slice(7)}.json`), "{not json");
    expect(await kindOfFailure(() => store.info(context, sha256(data)))).toBe("DataLoss");
  });

  it("treats an ingest directory without its ref file (creation cut short) as no ingest, and reuses it", async () => {
    const store = await LocalContentStore.open(root());
    mkdirSync(ingestDir("cut-short"));
    writeFileSync(join(ingestDir("cut-short"), "data"), "stale bytes");
    writeFileSync(join(ingestDir("cut-short"), "total"), "999");
    expect(await kindOfFailure(() => store.status(context, "cut-short"))).toBe("NotFound");
    expect(await kindOfFailure(() => store.abort(context, "cut-short"))).toBe("NotFound");
    expect(await store.listStatuses(context, [])).toEqual([]);
    const writer = await store.writer(context, { ref: "cut-short" });
    expect(await writer.status()).toMatchObject({ offset: 0, total: 0 });
    expect(await writer.digest()).toBe(sha256(""));
    await writer.close();
  });

  it("ignores stray names in blobs/ and ingest/ (temp files, directories being removed)", async () => {
    const store = await LocalContentStore.open(root());
    writeFileSync(join(root(), "blobs", "sha256", ".deadbeef.tmp"), "x");
    writeFileSync(join(root(), "blobs", "sha256", "not-a-digest"), "x");
    writeFileSync(join(root(), "ingest", ".abc.123.removing"), "x");
    expect(await Array.fromAsync(store.list(context, []))).toEqual([]);
    expect(await store.listStatuses(context, [])).toEqual([]);
  });

  it("needs no directories up front, and open creates them", async () => {
    const lazy = new LocalContentStore(join(root(), "lazy"));
    expect(await Array.fromAsync(lazy.list(context, []))).toEqual([]);
    expect(await lazy.listStatuses(context, [])).toEqual([]);
    expect(existsSync(join(root(), "lazy"))).toBe(false);
    await LocalContentStore.open(join(root(), "eager"));
    expect(readdirSync(join(root(), "eager")).sort()).toEqual(["blobs", "ingest", "labels"]);
  });
});
