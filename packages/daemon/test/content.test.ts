import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type CallContext, kindOf } from "@berth/api";
import { Client } from "@berth/client";
import { digestOf, writeBlob } from "@berth/content";
import { describeContentStoreConformance } from "@berth/content/testsuite";
import { Daemon, type Metadata, builtinPlugins, createLogger, defaultConfig } from "@berth/daemon";
import { type RunningDaemon, startBerthd, testDirectory } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const blobPath = (daemon: RunningDaemon, digest: string) => join(daemon.root, "io.containerd.content.v1.content", "blobs", "sha256", digest.slice(7));

let berthd: RunningDaemon;
let client: Client;
beforeAll(async () => {
  berthd = await startBerthd();
  client = await Client.connect({ address: berthd.address });
});
afterAll(async () => {
  client?.close();
  await berthd?.cleanup();
});

let suiteRun = 0;
describeContentStoreConformance("namespaced metadata store, in process", async () => {
  const base = testDirectory("metadata-content");
  const config = defaultConfig();
  Object.assign(config, { root: join(base, "root"), state: join(base, "state") });
  config.grpc.address = join(base, "berthd.sock");
  const daemon = await Daemon.start(config, builtinPlugins(), createLogger("fatal"));
  const metadata = daemon.outcomes.find((o) => o.plugin.type === "io.containerd.metadata.v1")!.instance as Metadata;
  // Under a lease, as clients work, so that collections after a test's deletions keep the rest.
  const lease = await metadata.leases.create({ namespace: "in-process" }, { id: "", labels: {} });
  return {
    store: metadata.content,
    context: { namespace: "in-process", lease: lease.id },
    close: async () => {
      await daemon.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
});

describeContentStoreConformance("gRPC proxy to berthd (namespaced store)", async () => {
  // A namespace per test keeps the tests apart in one daemon.
  const namespace = `conformance-${++suiteRun}`;
  const lease = await client.leases.create({ namespace }, { id: "", labels: {} });
  const context: CallContext = { namespace, lease: lease.id };
  return { store: client.content, context, close: async () => undefined };
});

const write = async (context: CallContext, ref: string, data: Buffer, labels: Record<string, string> = {}) =>
  (await writeBlob(client.content, context, ref, data, { labels })).digest;

describe("content in berthd", () => {
  it("keeps namespaces apart, and a second namespace's write of a blob moves no bytes", async () => {
    const data = Buffer.alloc(3 << 20, "namespaced");
    // A root, so that collections run by other tests in this daemon keep it.
    const digest = await write({ namespace: "na" }, "ref-a", data, { "containerd.io/gc.root": "test" });
    expect((await client.content.info({ namespace: "na" }, digest)).size).toBe(data.length);
    expect(kindOf(await client.content.info({ namespace: "nb" }, digest).catch((e: unknown) => e))).toBe("NotFound");
    const listed: string[] = [];
    for await (const info of client.content.list({ namespace: "nb" }, [])) listed.push(info.digest);
    expect(listed).not.toContain(digest);

    const writer = await client.content.writer({ namespace: "nb" }, { ref: "ref-b", total: data.length, expected: digest });
    const status = await writer.status();
    expect(status.offset).toBe(data.length); // nothing left to send
    await writer.commit(data.length, digest, { "containerd.io/gc.root": "test" });
    expect((await client.content.info({ namespace: "nb" }, digest)).size).toBe(data.length);
    // Still one file on disk, shared.
    expect(existsSync(blobPath(berthd, digest))).toBe(true);
  });

  it("never stores a blob whose bytes do not match its digest", async () => {
    const data = Buffer.from("the real bytes");
    const claimed = digestOf(Buffer.from("other bytes"));
    const writer = await client.content.writer({ namespace: "bad" }, { ref: "liar", total: data.length, expected: claimed });
    await writer.write(data);
    expect(kindOf(await writer.commit(data.length, claimed).catch((e: unknown) => e))).toBe("FailedPrecondition");
    expect(existsSync(blobPath(berthd, claimed))).toBe(false);
    expect(existsSync(blobPath(berthd, digestOf(data)))).toBe(false);
  });
});
