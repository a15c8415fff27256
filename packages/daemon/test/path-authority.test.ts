import { healthV1 } from "@berth/api/proto";
import { grpc } from "@berth/api/services";
import { type RunningDaemon, startBerthd } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InspectableBerthd, startInspectableBerthd } from "./held-modules.js";

const { SERVING } = healthV1.HealthCheckResponse_ServingStatus;

/** Health/Check sent as grpc-go's passthrough resolver sends it on a unix socket: `:authority` = the socket path. */
function checkWithAuthority(channel: grpc.Client, metadata = new grpc.Metadata()): Promise<healthV1.HealthCheckResponse> {
  return new Promise((resolve, reject) => {
    channel.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (request: healthV1.HealthCheckRequest) => Buffer.from(healthV1.HealthCheckRequest.encode(request).finish()),
      (bytes: Buffer) => healthV1.HealthCheckResponse.decode(bytes),
      { service: "" },
      metadata,
      { deadline: Date.now() + 10_000 },
      (error, response) => (error ? reject(error) : resolve(response!)),
    );
  });
}

describe("berthd's socket and path-shaped :authority (kubelet, crictl, critest)", () => {
  let daemon: RunningDaemon;
  let channel: grpc.Client;

  beforeAll(async () => {
    daemon = await startBerthd();
    channel = new grpc.Client(`unix://${daemon.address}`, grpc.credentials.createInsecure(), {
      "grpc.default_authority": daemon.address,
    });
  });
  afterAll(async () => {
    channel?.close();
    await daemon?.cleanup();
  });

  it("answers calls whose :authority is the socket path, many on one connection", async () => {
    for (let i = 0; i < 20; i++) expect((await checkWithAuthority(channel)).status).toBe(SERVING);
  });

  it("answers calls whose header block spans CONTINUATION frames", async () => {
    const metadata = new grpc.Metadata();
    for (let i = 0; i < 8; i++) metadata.set(`x-large-${i}`, `${i}`.repeat(6000));
    expect((await checkWithAuthority(channel, metadata)).status).toBe(SERVING);
    expect((await checkWithAuthority(channel)).status).toBe(SERVING);
  });
});

describe("berthd's socket and a connection's first request", () => {
  let daemon: RunningDaemon;

  beforeAll(async () => {
    daemon = await startBerthd();
  });
  afterAll(async () => {
    await daemon?.cleanup();
  });

  // berthd reads a connection up to its first request before it hands it on; one that stays idle
  // longer than that wait goes through the filter, with either authority.
  for (const authority of ["localhost", "path"]) {
    it(`answers a connection (authority ${authority}) that is idle for a while before its first request, then many`, async () => {
      const channel = new grpc.Client(`unix://${daemon.address}`, grpc.credentials.createInsecure(), {
        "grpc.default_authority": authority === "path" ? daemon.address : "localhost",
      });
      try {
        await new Promise<void>((resolve, reject) => channel.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())));
        await new Promise((resolve) => setTimeout(resolve, 2500));
        for (let i = 0; i < 5; i++) expect((await checkWithAuthority(channel)).status).toBe(SERVING);
      } finally {
        channel.close();
      }
    });
  }
});

describe("berthd's socket before any client", () => {
  let berthd: InspectableBerthd;

  beforeAll(async () => {
    berthd = await startInspectableBerthd();
  });
  afterAll(async () => {
    await berthd?.cleanup();
  });

  it("holds no HPACK code until a connection's first request needs it", async () => {
    const hpack = (modules: string[]) => modules.filter((path) => path.includes("/node_modules/hpack.js/"));
    // testkit saw the socket answer (a connect, then close), which sends no request.
    expect(hpack(await berthd.modules())).toEqual([]);
    const channel = new grpc.Client(`unix://${berthd.daemon.address}`, grpc.credentials.createInsecure());
    try {
      expect((await checkWithAuthority(channel)).status).toBe(SERVING);
    } finally {
      channel.close();
    }
    expect(hpack(await berthd.modules()).length).toBeGreaterThan(0);
  });
});
