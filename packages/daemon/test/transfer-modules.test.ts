import { Client, hostPlatform, transferPull } from "@berth/client";
import { type RunningRegistry, buildBusyboxImage, pushTestImage, startRegistry } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InspectableBerthd, startInspectableBerthd } from "./held-modules.js";

let registry: RunningRegistry;
let berthd: InspectableBerthd;
let client: Client;

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "1" });
  berthd = await startInspectableBerthd();
  client = await Client.connect({ address: berthd.daemon.address, namespace: "modules" });
});
afterAll(async () => {
  client?.close();
  await berthd?.cleanup();
  await registry?.stop();
});

describe("berthd's first Transfer", () => {
  it("talks to the registry through Node's own http client, never loading undici", async () => {
    const ref = `${registry.host}/library/busybox:1`;
    await transferPull(client, ref, { platforms: [hostPlatform()], unpack: "overlayfs", plainHttp: true });
    expect((await client.images.get(client.context(), ref)).name).toBe(ref);
    const modules = await berthd.modules();
    expect(modules).toContain("node:_http_client");
    expect(modules.filter((name) => name.includes("undici"))).toEqual([]);
  });
});
