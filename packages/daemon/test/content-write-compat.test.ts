import { type CallContext, kindOf } from "@berth/api";
import { contentV1 } from "@berth/api/proto";
import { Client } from "@berth/client";
import { digestOf, writeBlob } from "@berth/content";
import { type RunningDaemon, startBerthd, startStockContainerd, stockContainerdInstalled } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type WriteRequest = contentV1.WriteContentRequest;
const { WriteAction } = contentV1;

const daemons: [string, () => Promise<RunningDaemon | undefined>][] = [["berthd", () => startBerthd({ logLevel: "info" })]];
if (stockContainerdInstalled) daemons.push(["stock containerd", () => startStockContainerd()]);

describe.each(daemons)("content writes as containerd's Go client makes them, on %s", (_name, start) => {
  let daemon: RunningDaemon;
  let client: Client;
  beforeAll(async () => {
    daemon = (await start())!;
    client = await Client.connect({ address: daemon.address });
  });
  afterAll(async () => {
    client?.close();
    await daemon?.cleanup();
  });

  /** One Write stream driven message by message, as the Go client's remote writer does. */
  function stream(context: CallContext) {
    const call = client.service(contentV1.ContentDefinition).write(context);
    const responses = call[Symbol.asyncIterator]();
    return {
      async send(request: Partial<WriteRequest>): Promise<contentV1.WriteContentResponse> {
        call.send({ action: WriteAction.STAT, ref: "", total: 0, expected: "", offset: 0, data: Buffer.alloc(0), labels: {}, ...request });
        const next = await responses.next();
        if (next.done) throw new Error("the daemon ended the stream");
        return next.value;
      },
      /** CloseSend, as the Go client's Close: the daemon learns of it whenever it does. */
      closeSend: () => call.end(),
      drain: async () => {
        while (!(await responses.next().catch(() => ({ done: true }))).done);
      },
    };
  }

  const collect = async (context: CallContext) => {
    const lease = await client.leases.create(context, { id: "", labels: {} });
    await client.leases.delete(context, lease.id, true);
  };
  const infoKind = (context: CallContext, digest: string) =>
    client.content.info(context, digest).then(
      () => "found",
      (error: unknown) => kindOf(error),
    );

  it("opens a ref again right after the stream that held it was closed or committed, and refuses a held one", async () => {
    const context = { namespace: "handover" };
    const closed: Promise<void>[] = [];
    for (let round = 0; round < 10; round++) {
      const ref = `handover-${round}`;
      const first = stream(context);
      await first.send({ action: WriteAction.WRITE, ref, data: Buffer.from("part") });
      first.closeSend();
      closed.push(first.drain());
      const second = stream(context);
      expect((await second.send({ ref })).offset).toBe(4);
      const data = Buffer.from(`part${round}`);
      await second.send({
        action: WriteAction.COMMIT,
        offset: 4,
        total: data.length,
        data: data.subarray(4),
        expected: digestOf(data),
        labels: { "containerd.io/gc.root": "test" },
      });
      second.closeSend();
      closed.push(second.drain());
      // the ref is free again after a commit, for a new ingest
      const third = stream(context);
      expect((await third.send({ ref })).offset).toBe(0);
      third.closeSend();
      closed.push(third.drain());
    }
    await Promise.all(closed);

    // a ref that a live stream holds is still refused once the retries are spent
    const holder = stream(context);
    await holder.send({ ref: "held" });
    const contender = stream(context);
    expect(kindOf(await contender.send({ ref: "held" }).catch((error: unknown) => error))).toBe("Unavailable");
    await contender.drain();
    holder.closeSend();
    await holder.drain();
  });

  it("adds a blob written again under a lease to that lease, so that garbage collection keeps it", async () => {
    // B1: the namespace has it already, unreferenced; B2: only another namespace has it
    const [b1, b2] = [Buffer.from("blob the namespace has"), Buffer.from("blob another namespace has")];
    const [n1, n2] = [{ namespace: "lease-n1" }, { namespace: "lease-n2" }];
    await writeBlob(client.content, n2, "first-b1", b1);
    await writeBlob(client.content, n1, "first-b2", b2);
    const lease = await client.leases.create(n2, { id: "import", labels: {} });
    const leased = { ...n2, lease: lease.id };

    const again = client.content.writer(leased, { ref: "again-b1", total: b1.length, expected: digestOf(b1) });
    expect(kindOf(await again.catch((error: unknown) => error))).toBe("AlreadyExists");
    const shared = await client.content.writer(leased, { ref: "again-b2", total: b2.length, expected: digestOf(b2) });
    expect((await shared.status()).offset).toBe(b2.length); // nothing to send
    await shared.commit(b2.length, digestOf(b2));

    await collect(n2);
    expect(await infoKind(n2, digestOf(b1))).toBe("found");
    expect(await infoKind(n2, digestOf(b2))).toBe("found");
    expect(await infoKind(n1, digestOf(b2))).toBe("NotFound");
    const read: Buffer[] = [];
    for await (const chunk of client.content.read(n2, digestOf(b1))) read.push(Buffer.from(chunk));
    expect(Buffer.concat(read)).toEqual(b1);

    await client.leases.delete(n2, lease.id, true);
    expect(await infoKind(n2, digestOf(b1))).toBe("NotFound");
    expect(await infoKind(n2, digestOf(b2))).toBe("NotFound");
  });
});
