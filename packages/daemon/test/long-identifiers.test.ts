import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type CallContext, jsonTypeUrls, kindOf, packJson } from "@berth/api";
import { contentV1 } from "@berth/api/proto";
import { Client } from "@berth/client";
import { digestOf, writeBlob } from "@berth/content";
import { type RunningDaemon, startBerthd, startStockContainerd, stockContainerdInstalled } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newContainer } from "./containers-suite.js";

const tenKiB = 10 * 1024;
const long = "x".repeat(tenKiB);
const longImage = `example.com/${"i".repeat(tenKiB)}`;
const longLabel = { key: "y".repeat(tenKiB) };
const target = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: digestOf("manifest"), size: 8, annotations: {} };

const daemons: [string, () => Promise<RunningDaemon | undefined>][] = [["berthd", () => startBerthd({ logLevel: "info" })]];
if (stockContainerdInstalled) daemons.push(["stock containerd", () => startStockContainerd()]);

/** The outcome of a call as containerd's error kind, or "ok". */
const outcome = (call: () => Promise<unknown>): Promise<string> =>
  call().then(
    () => "ok",
    (error: unknown) => kindOf(error),
  );

async function drain<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe.each(daemons)("10 KiB identifiers, names, keys, refs and labels on %s", (_name, start) => {
  let daemon: RunningDaemon;
  let client: Client;
  // Under a lease, as clients work, so that the collections deletions start keep what the calls make.
  const context: CallContext = { namespace: "long", lease: "kept" };
  const snapshots = () => client.snapshotter("overlayfs");
  const ingestDirectory = () => join(daemon.root, "io.containerd.content.v1.content", "ingest");

  /** What the namespace holds, to compare before and after. */
  async function state() {
    const ingests = await client.content.listStatuses(context, []);
    return {
      images: (await client.images.list(context, [])).map((image) => image.name).sort(),
      containers: (await client.containers.list(context, [])).map((container) => container.id).sort(),
      leases: (await client.leases.list(context, [])).map((lease) => lease.id).sort(),
      blobs: (await drain(client.content.list(context, []))).map((info) => info.digest).sort(),
      snapshots: (await drain(snapshots().list(context, []))).map((info) => `${info.name}<${info.parent}`).sort(),
      ingests: ingests.map((status) => `${status.ref}@${status.offset}`).sort(),
      ingestDirectories: readdirSync(ingestDirectory()).length,
    };
  }

  /** Writes `data` under `ref` on one Write stream and ends it without a commit (the ingest stays). */
  async function leaveIngest(ref: string, data: Buffer): Promise<number> {
    const call = client.service(contentV1.ContentDefinition).write(context);
    const responses = call[Symbol.asyncIterator]();
    call.send({ action: contentV1.WriteAction.WRITE, ref, total: 0, expected: "", offset: 0, data, labels: {} });
    try {
      const next = await responses.next();
      return next.done ? -1 : next.value.offset;
    } finally {
      call.end();
      while (!(await responses.next().catch(() => ({ done: true }))).done);
    }
  }

  beforeAll(async () => {
    daemon = (await start())!;
    client = await Client.connect({ address: daemon.address });
    await client.leases.create({ namespace: "long" }, { id: "kept", labels: {} });
    // what must survive every refused or accepted call below
    await writeBlob(client.content, context, "kept-blob", Buffer.from("manifest"), { labels: { "containerd.io/gc.root": "test" } });
    await client.images.create(context, { name: "example.com/kept:1", labels: {}, target });
    await client.containers.create(context, newContainer("kept"));
    await snapshots().prepare(context, "kept-snapshot", "");
    await leaveIngest("kept-ingest", Buffer.from("partial"));
  });
  afterAll(async () => {
    client?.close();
    await daemon?.cleanup();
  });

  it("answers each call with containerd's kind, keeps serving, and loses or leaves nothing", async () => {
    const before = await state();
    const snapshotKeys = async () => (await drain(snapshots().list(context, []))).map((info) => info.name);
    const rows: [string, () => Promise<unknown>, string][] = [
      // identifiers: containerd's rule, 76 characters at most
      ["namespace header", () => client.images.list({ namespace: long }, []), "InvalidArgument"],
      ["Namespaces.Create name", () => client.namespaces.create(context, { name: long, labels: {} }), "InvalidArgument"],
      ["Namespaces.Get name", async () => expect((await client.namespaces.get(context, long)).labels).toEqual({}), "ok"],
      ["Containers.Create id", () => client.containers.create(context, newContainer(long)), "InvalidArgument"],
      ["Containers.Get id", () => client.containers.get(context, long), "NotFound"],
      ["Containers.Delete id", () => client.containers.delete(context, long), "NotFound"],
      ["Tasks.Get container id", () => client.tasks.get(context, long), "NotFound"],
      // a container's image and snapshot key are not identifiers
      [
        "Containers.Create image and snapshot key",
        () => client.containers.create(context, newContainer("long-fields", { image: longImage, snapshotter: "overlayfs", snapshotKey: long })),
        "ok",
      ],
      [
        "Containers.Get those back",
        async () => expect(await client.containers.get(context, "long-fields")).toMatchObject({ image: longImage, snapshotKey: long }),
        "ok",
      ],
      ["Containers.Delete it", () => client.containers.delete(context, "long-fields"), "ok"],
      // lease ids are not checked as identifiers by containerd 1.6
      ["Leases.Create id", () => client.leases.create(context, { id: long, labels: {} }), "ok"],
      ["Leases.Create id again", () => client.leases.create(context, { id: long, labels: {} }), "AlreadyExists"],
      ["Leases.List shows it", async () => expect((await client.leases.list(context, [])).map((lease) => lease.id)).toContain(long), "ok"],
      ["Leases.AddResource content id", () => client.leases.addResource(context, long, { type: "content", id: long }), "InvalidArgument"],
      ["Leases.AddResource snapshot key", () => client.leases.addResource(context, long, { type: "snapshots/overlayfs", id: long }), "ok"],
      ["Leases.ListResources", async () => expect(await client.leases.listResources(context, long)).toEqual([{ type: "snapshots/overlayfs", id: long }]), "ok"],
      ["Leases.Delete id", () => client.leases.delete(context, long), "ok"],
      ["Leases.ListResources after", () => client.leases.listResources(context, long), "NotFound"],
      // image names have no length limit
      ["Images.Create name", () => client.images.create(context, { name: longImage, labels: {}, target }), "ok"],
      ["Images.Create name again", () => client.images.create(context, { name: longImage, labels: {}, target }), "AlreadyExists"],
      ["Images.Get name", async () => expect((await client.images.get(context, longImage)).name).toBe(longImage), "ok"],
      ["Images.List shows it", async () => expect((await client.images.list(context, [])).map((image) => image.name)).toContain(longImage), "ok"],
      [
        "Images.Create a name alike but for its last character",
        () => client.images.create(context, { name: `${longImage.slice(0, -1)}j`, labels: {}, target }),
        "ok",
      ],
      [
        "Images.Create a name of two-byte characters",
        () => client.images.create(context, { name: `example.com/${"é".repeat(tenKiB / 2)}`, labels: {}, target }),
        "ok",
      ],
      [
        "Images.List shows all three",
        async () => expect((await client.images.list(context, [])).filter((image) => image.name.length > tenKiB / 2)).toHaveLength(3),
        "ok",
      ],
      ["Images.Delete the alike one", () => client.images.delete(context, `${longImage.slice(0, -1)}j`), "ok"],
      ["Images.Delete the two-byte one", () => client.images.delete(context, `example.com/${"é".repeat(tenKiB / 2)}`), "ok"],
      ["Images.Get name, still there", async () => expect((await client.images.get(context, longImage)).name).toBe(longImage), "ok"],
      ["Images.Delete name", () => client.images.delete(context, longImage), "ok"],
      ["Images.Get name after", () => client.images.get(context, longImage), "NotFound"],
      // nor have snapshot keys and names
      ["Snapshots.Prepare key", () => snapshots().prepare(context, long, ""), "ok"],
      ["Snapshots.Stat key", async () => expect((await snapshots().stat(context, long)).name).toBe(long), "ok"],
      ["Snapshots.List shows it", async () => expect(await snapshotKeys()).toContain(long), "ok"],
      ["Snapshots.Commit name", () => snapshots().commit(context, `${long}-committed`, long), "ok"],
      ["Snapshots.Prepare onto it", () => snapshots().prepare(context, "long-child", `${long}-committed`), "ok"],
      ["Snapshots.Stat the child", async () => expect((await snapshots().stat(context, "long-child")).parent).toBe(`${long}-committed`), "ok"],
      ["Snapshots.Remove the parent first", () => snapshots().remove(context, `${long}-committed`), "FailedPrecondition"],
      ["Snapshots.Remove the child", () => snapshots().remove(context, "long-child"), "ok"],
      ["Snapshots.Remove name", () => snapshots().remove(context, `${long}-committed`), "ok"],
      ["Snapshots.Stat name after", () => snapshots().stat(context, `${long}-committed`), "NotFound"],
      ["snapshotter name", () => client.snapshotter(long).prepare(context, "k", ""), "InvalidArgument"],
      // nor have ingest refs
      ["Content.Status ref, none yet", () => client.content.status(context, long), "NotFound"],
      ["Content.Abort ref, none yet", () => client.content.abort(context, long), "NotFound"],
      ["Content.Write ref", async () => expect(await leaveIngest(long, Buffer.from("hello"))).toBe(5), "ok"],
      ["Content.Status ref", async () => expect((await client.content.status(context, long)).offset).toBe(5), "ok"],
      ["Content.ListStatuses shows it", async () => expect((await client.content.listStatuses(context, [])).map((status) => status.ref)).toContain(long), "ok"],
      ["Content.Abort ref", () => client.content.abort(context, long), "ok"],
      ["Content.Write ref under a lease that does not exist", () => client.content.writer({ namespace: "long", lease: "missing" }, { ref: long }), "NotFound"],
      ["Content.Status ref after", () => client.content.status(context, long), "NotFound"],
      // labels: key and value together at most 4096 bytes
      ["Namespaces.Create label", () => client.namespaces.create(context, { name: "labelled", labels: longLabel }), "InvalidArgument"],
      ["Containers.Create label", () => client.containers.create(context, newContainer("labelled", { labels: longLabel })), "InvalidArgument"],
      // containerd 1.6 takes lease labels of any size
      ["Leases.Create label", () => client.leases.create(context, { id: "labelled", labels: longLabel }), "ok"],
      ["Leases.Delete it", () => client.leases.delete(context, "labelled"), "ok"],
      ["Images.Create label", () => client.images.create(context, { name: "example.com/labelled:1", labels: longLabel, target }), "InvalidArgument"],
      ["Snapshots.Prepare label", () => snapshots().prepare(context, "labelled", "", longLabel), "InvalidArgument"],
      ["Content.Update label", () => client.content.update(context, { digest: target.digest, labels: longLabel }, ["labels"]), "InvalidArgument"],
      ["Content.Info digest", () => client.content.info(context, long), "InvalidArgument"],
    ];
    const outcomes: [string, string][] = [];
    for (const [what, call] of rows) outcomes.push([what, await outcome(call)]);
    expect(outcomes).toEqual(rows.map(([what, , kind]) => [what, kind]));

    expect((await client.version()).version).not.toBe("");
    expect(await state()).toEqual(before);
  });
});
