import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Client } from "@berth/client";
import { parseConfig } from "@berth/daemon";
import { runCommand, startBerthd } from "@berth/testkit";
import { describe, expect, it } from "vitest";

const berthd = fileURLToPath(import.meta.resolve("@berth/daemon").replace(/index\.js$/, "main.js"));

describe("berthd lifecycle", () => {
  it("prints a complete default config that it can read back", async () => {
    const printed = await runCommand(process.execPath, [berthd, "config", "default"]);
    expect(printed.code).toBe(0);
    const config = parseConfig(printed.stdout);
    expect(config).toMatchObject({ version: 2, root: "/var/lib/berth", state: "/run/berth", grpc: { address: "/run/berth/berthd.sock" } });
    expect(config.plugins["io.containerd.event.v1.exchange"]).toEqual({ subscriber_max_queued_bytes: 64 << 20, subscriber_stall_timeout_ms: 30_000 });
  });

  it("refuses a config with a wrongly typed field, naming it", () => {
    expect(() => parseConfig("version = 2\n[grpc]\naddress = 5\n")).toThrow(/grpc\.address must be a string/);
    expect(() => parseConfig("version = 3\n")).toThrow(/version 3/);
    expect(() => parseConfig("root = \n")).toThrow(/config/);
  });

  it("refuses an unknown log level", async () => {
    const result = await runCommand(process.execPath, [berthd, "--log-level", "chatty", "--root", "/nonexistent", "--address", "/nonexistent/s.sock"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--log-level");
  });

  it("keeps its namespaces and identity across a restart, and shuts down cleanly on SIGTERM", async () => {
    const first = await startBerthd();
    try {
      let client = await Client.connect({ address: first.address });
      await client.namespaces.create(client.context(), { name: "durable", labels: { kept: "yes" } });
      const { uuid } = await client.server();
      client.close();
      expect(await first.stop()).toBe(0);
      expect(existsSync(first.address)).toBe(false);
      expect(first.logs()).toMatch(/"level":"info".*"msg":"stopped"/);

      const second = await startBerthd({ reuse: first });
      try {
        client = await Client.connect({ address: second.address });
        expect(await client.namespaces.get(client.context(), "durable")).toEqual({ name: "durable", labels: { kept: "yes" } });
        expect((await client.server()).uuid).toBe(uuid);
        client.close();
      } finally {
        await second.stop();
      }
    } finally {
      await first.cleanup();
    }
  });

  it("runs beside another berthd, and will not take a socket a live daemon serves", async () => {
    const one = await startBerthd();
    const two = await startBerthd();
    try {
      const a = await Client.connect({ address: one.address });
      const b = await Client.connect({ address: two.address });
      await a.namespaces.create(a.context(), { name: "only-in-one", labels: {} });
      expect((await b.namespaces.list(b.context())).map((n) => n.name)).toEqual([]);
      a.close();
      b.close();
      const intruder = await runCommand(process.execPath, [berthd, "--root", `${one.root}-other`, "--state", `${one.state}-other`, "--address", one.address]);
      expect(intruder.code).toBe(1);
      expect(intruder.stderr).toContain("in use");
    } finally {
      await one.cleanup();
      await two.cleanup();
      execFileSync("rm", ["-rf", `${one.root}-other`, `${one.state}-other`]);
    }
  });

  it("replaces a stale socket left by a daemon that was killed", async () => {
    const first = await startBerthd();
    try {
      await first.kill();
      expect(existsSync(first.address)).toBe(true);
      const second = await startBerthd({ reuse: first });
      await second.stop();
    } finally {
      await first.cleanup();
    }
  });
});
