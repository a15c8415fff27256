import { spawn } from "node:child_process";
import { type RunningDaemon, runCommand, startBerthd, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { Client } from "@berth/client";
import { digestOf } from "@berth/content";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** Debian's stock ctr 1.6 managing content, leases and images in berthd. */
describe.skipIf(!stockContainerdInstalled)("stock ctr: content, leases and images against berthd", () => {
  let berthd: RunningDaemon;
  const ctr = (args: string[], input?: string) => runCommand(stockCtr!, ["--address", berthd.address, ...args], input === undefined ? {} : { input });

  beforeAll(async () => {
    berthd = await startBerthd();
  });
  afterAll(async () => {
    await berthd?.cleanup();
  });

  it("ingests, lists, reads, labels and removes a blob", async () => {
    const data = "hello from stock ctr\n";
    const digest = digestOf(Buffer.from(data));
    expect(await ctr(["content", "ingest", "myref"], data)).toMatchObject({ code: 0, stderr: "" });
    const listed = await ctr(["content", "ls"]);
    expect(listed.stdout).toBe(`DIGEST\t\t\t\t\t\t\t\t\tSIZE\tAGE\t\t\tLABELS\n${digest}\t21B\tLess than a second\t-\n`);
    expect((await ctr(["content", "get", digest])).stdout).toBe(data);
    expect((await ctr(["content", "label", digest, "foo=bar"])).stdout).toBe("foo=bar\n");
    expect((await ctr(["content", "ls", "labels.foo==bar", "-q"])).stdout).toBe(`${digest}\n`);
    expect((await ctr(["content", "ls", "-q"], undefined)).stdout).toBe(`${digest}\n`);
    expect((await ctr(["content", "rm", digest])).stdout).toBe(`${digest}\n`);
    expect((await ctr(["content", "ls", "-q"])).stdout).toBe("");
  });

  it("refuses content whose digest does not match, storing nothing", async () => {
    const wrong = digestOf(Buffer.from("something else"));
    const result = await ctr(["content", "ingest", "--expected-digest", wrong, "liar"], "these bytes");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/failed precondition/);
    expect((await ctr(["content", "ls", "-q"])).stdout).toBe("");
  });

  it("creates, lists and removes leases", async () => {
    const created = await ctr(["leases", "create", "--id", "mylease", "a=b"]);
    expect(created).toMatchObject({ code: 0, stdout: "mylease\n" });
    const listed = (await ctr(["leases", "ls"])).stdout.split("\n");
    expect(listed[0]).toMatch(/^ID +CREATED AT +LABELS +$/);
    expect(listed[1]).toMatch(/^mylease +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +a=b,containerd\.io\/gc\.expire=\d{4}-.*Z +$/);
    expect((await ctr(["leases", "rm", "mylease"])).stdout).toBe("mylease\n");
    const again = await ctr(["leases", "rm", "mylease"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('lease "mylease": not found');
  });

  it("lists, labels and removes images", async () => {
    const client = await Client.connect({ address: berthd.address });
    try {
      const manifest = Buffer.from('{"schemaVersion":2}');
      const target = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: digestOf(manifest), size: manifest.length, annotations: {} };
      await client.images.create(client.context(), { name: "example.com/app:1", labels: {}, target });
      expect((await ctr(["images", "ls", "-q"])).stdout).toBe("example.com/app:1\n");
      const listed = (await ctr(["images", "ls"])).stdout.split("\n");
      expect(listed[0]).toMatch(/^REF +TYPE +DIGEST +SIZE +PLATFORMS +LABELS +$/);
      // The manifest itself is not in the store: ctr counts the target's size and knows no platform.
      expect(listed[1]).toBe(`example.com/app:1 application/vnd.oci.image.manifest.v1+json ${target.digest} 19.0 B -         -      `);
      expect((await ctr(["images", "label", "example.com/app:1", "x=y"])).stdout).toBe("x=y\n");
      expect((await ctr(["images", "rm", "--sync", "example.com/app:1"])).stdout).toBe("example.com/app:1\n");
      expect((await ctr(["images", "ls", "-q"])).stdout).toBe("");
    } finally {
      client.close();
    }
  });

  it("resumes an ingest whose writer was killed half-way", async () => {
    const half = Buffer.alloc(1 << 20, 7);
    const whole = Buffer.concat([half, Buffer.alloc(1 << 20, 9)]);
    const digest = digestOf(whole);
    // The writer sends the first half, then hangs on stdin until it is killed.
    const writer = spawn(stockCtr!, ["--address", berthd.address, "content", "ingest", "--expected-digest", digest, "killed-ref"], {
      stdio: ["pipe", "ignore", "ignore"],
    });
    writer.stdin.write(half);
    const client = await Client.connect({ address: berthd.address });
    try {
      for (let i = 0; i < 100; i++) {
        const [status] = await client.content.listStatuses(client.context(), ["ref==killed-ref"]);
        if (status?.offset === half.length) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      writer.kill("SIGKILL");
      await new Promise((resolve) => writer.once("exit", resolve));
      expect((await client.content.status(client.context(), "killed-ref")).offset).toBe(half.length);
      const active = await ctr(["content", "active", "ref~=^killed"]);
      expect(active.stdout).toMatch(/^REF\t\tSIZE\tAGE\t\t\t\nkilled-ref\t1\.049MB\t(Less than a second|\d+ seconds?)\t+\n$/);

      const resumed = await client.content.writer(client.context(), { ref: "killed-ref", total: whole.length, expected: digest });
      expect((await resumed.status()).offset).toBe(half.length);
      await resumed.write(whole.subarray(half.length));
      await resumed.commit(whole.length, digest);
      expect((await ctr(["content", "get", digest])).stdout.length).toBe(whole.length);
    } finally {
      client.close();
    }
  });
});
