// The snapshotter and content store conformance suites through berthd's proxy plugins: client →
// berthd → a proxy process serving the native snapshotter and a local content store.
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@berth/client";
import { describeContentStoreConformance } from "@berth/content/testsuite";
import { describeSnapshotterConformance } from "@berth/snapshots/testsuite";
import { type RunningDaemon, startBerthd, testDirectory } from "@berth/testkit";
import { afterAll, beforeAll } from "vitest";
import { ProxyProcess, writeProxyScript } from "./proxy-process.js";

let base: string;
let snapshots: ProxyProcess;
let store: ProxyProcess;
let berthd: RunningDaemon;
let client: Client;
beforeAll(async () => {
  base = testDirectory("proxy-conformance");
  const script = writeProxyScript(base);
  snapshots = new ProxyProcess(script, "snapshot", join(base, "snapshots"), join(base, "snapshots.sock"));
  store = new ProxyProcess(script, "content", join(base, "content"), join(base, "content.sock"));
  await snapshots.start();
  await store.start();
  const proxies = [
    `[proxy_plugins.proxied]\ntype = "snapshot"\naddress = ${JSON.stringify(snapshots.address)}`,
    `[proxy_plugins.store]\ntype = "content"\naddress = ${JSON.stringify(store.address)}`,
  ];
  berthd = await startBerthd({ config: `version = 2\n${proxies.join("\n")}\n`, logLevel: "info" });
  client = await Client.connect({ address: berthd.address });
  // Else the content suite would pass on berthd's own store.
  const loaded = await client.plugins(["id==store", "id==proxied"]);
  if (loaded.length !== 2 || loaded.some((plugin) => plugin.initErr !== undefined)) throw new Error(`proxy plugins not loaded: ${JSON.stringify(loaded)}`);
});
afterAll(async () => {
  client?.close();
  await berthd?.cleanup();
  await snapshots?.stop();
  await store?.stop();
  if (base !== undefined) rmSync(base, { recursive: true, force: true });
});

let run = 0;
describeSnapshotterConformance("berthd's proxy plugin to a native snapshotter", async () => {
  const namespace = `snapshots-${++run}`;
  const lease = await client.leases.create({ namespace }, { id: "", labels: {} });
  const root = mkdtempSync(join(base, "mounts-"));
  return {
    snapshotter: client.snapshotter("proxied"),
    context: { namespace, lease: lease.id },
    root,
    usageIncludesParents: true,
    close: async () => {
      await client.leases.delete({ namespace }, lease.id, true);
      rmSync(root, { recursive: true, force: true });
    },
  };
});

describeContentStoreConformance("berthd's proxy plugin to a local content store", async () => {
  const namespace = `content-${++run}`;
  const lease = await client.leases.create({ namespace }, { id: "", labels: {} });
  return { store: client.content, context: { namespace, lease: lease.id }, close: async () => undefined };
});
