import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type RunningDaemon, startBerthd } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../../..", import.meta.url));
const calls = 3000;

// A test that runs a client with spawnSync blocks its own event loop until the client exits. berthd
// logs a line per call at debug level; were its output a pipe to the test, the pipe would fill
// (a few hundred lines), berthd would wait to write, the client would wait for berthd, and
// spawnSync would never return (stock ctr's `snapshots diff` in ctr-more-commands did, ~300 s).
describe("a started daemon's output", () => {
  let berthd: RunningDaemon;

  beforeAll(async () => {
    berthd = await startBerthd({ logLevel: "debug" });
  });

  afterAll(async () => {
    await berthd?.cleanup();
  });

  it("never stalls the daemon while the test's event loop is blocked in spawnSync", () => {
    const client = `
      import { Client } from "@berth/client";
      const client = await Client.connect({ address: ${JSON.stringify(berthd.address)}, namespace: "default" });
      for (let i = 0; i < ${calls}; i++) await client.namespaces.get({ namespace: "default" }, "default");
      client.close();
      process.stdout.write("done");
    `;
    // The timeout only ends a hang (the failure this test is for) instead of waiting for ever.
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", client], { cwd: repo, encoding: "utf8", timeout: 50_000 });
    expect([run.signal, run.status, run.stdout, run.stderr]).toEqual([null, 0, "done", ""]);
    expect(
      berthd
        .logs()
        .split("\n")
        .filter((line) => line.includes('"method":"Get"')).length,
    ).toBeGreaterThanOrEqual(calls);
  });
});
