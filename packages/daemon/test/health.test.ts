import { Client } from "@berth/client";
import { healthV1 } from "@berth/api/proto";
import { grpc } from "@berth/api/services";
import { type RunningDaemon, runCommand, startBerthd, startStockContainerd, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const { SERVING, SERVICE_UNKNOWN } = healthV1.HealthCheckResponse_ServingStatus;

/** Health/Check as containerd's Go client sends it (IsServing): an empty request, no namespace, wait for ready. */
function goClientCheck(address: string): Promise<Buffer> {
  const channel = new grpc.Client(`unix://${address}`, grpc.credentials.createInsecure(), { "grpc.default_authority": "localhost" });
  const metadata = new grpc.Metadata();
  metadata.setOptions({ waitForReady: true });
  return new Promise<Buffer>((resolve, reject) => {
    channel.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      Buffer.alloc(0),
      metadata,
      { deadline: Date.now() + 10_000 },
      (error, response) => (error ? reject(error) : resolve(response!)),
    );
  }).finally(() => channel.close());
}

// The same answers from berthd as from Debian's stock containerd 1.6.
describe.each([
  { kind: "berthd", start: () => startBerthd() },
  { kind: "containerd", start: () => startStockContainerd() },
])("health service of $kind", ({ kind, start }) => {
  let daemon: RunningDaemon | undefined;
  let client: Client;

  beforeAll(async () => {
    daemon = await start();
    if (daemon !== undefined) client = await Client.connect({ address: daemon.address });
  });
  afterAll(async () => {
    client?.close();
    await daemon?.cleanup();
  });
  const skip = kind === "containerd" && !stockContainerdInstalled;

  it.skipIf(skip)("answers a Go client's Check with SERVING", async () => {
    const response = healthV1.HealthCheckResponse.decode(await goClientCheck(daemon!.address));
    expect(response.status).toBe(SERVING);
    expect(await client.isServing()).toBe(true);
  });

  it.skipIf(skip)("fails Check of a service it does not know with NotFound", async () => {
    const health = client.service(healthV1.HealthDefinition, {});
    await expect(health.check({ service: "containerd.services.tasks.v1.Tasks" })).rejects.toMatchObject({ kind: "NotFound" });
  });

  it.skipIf(skip)("streams SERVING from Watch, and SERVICE_UNKNOWN for an unknown service, holding the stream open", async () => {
    const health = client.service(healthV1.HealthDefinition, {});
    for (const [service, status] of [
      ["", SERVING],
      ["nope", SERVICE_UNKNOWN],
    ] as const) {
      const watch = health.watch({ service });
      const iterator = watch[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toEqual({ status });
      // The server keeps the stream open: it ends only because the client cancels it.
      watch.cancel();
      await expect(iterator.next()).rejects.toMatchObject({ kind: "Canceled" });
    }
  });

  it.skipIf(skip || stockCtr === undefined)("is listed by stock ctr plugins ls as io.containerd.grpc.v1 healthcheck", async () => {
    const listed = await runCommand(stockCtr!, ["--address", daemon!.address, "plugins", "ls"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split("\n").map((line) => line.trim().split(/\s+/))).toContainEqual(["io.containerd.grpc.v1", "healthcheck", "-", "ok"]);
  });
});

describe("health service disabled", () => {
  it("leaves Client.isServing failing NotImplemented, as Docker sees a daemon without it", async () => {
    const berthd = await startBerthd({ config: 'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.healthcheck"]\n' });
    const client = await Client.connect({ address: berthd.address }).catch(async (error) => {
      await berthd.cleanup();
      throw error;
    });
    try {
      await expect(client.isServing()).rejects.toMatchObject({ kind: "NotImplemented" });
    } finally {
      client.close();
      await berthd.cleanup();
    }
  });
});
