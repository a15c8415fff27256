import { fileURLToPath } from "node:url";
import { digestOf } from "@berth/content";
import { type RunningDaemon, runCommand, startBerthd, startStockContainerd, stockContainerdInstalled } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));

const daemons: { name: string; start: () => Promise<RunningDaemon | undefined> }[] = [
  { name: "berthd", start: () => startBerthd() },
  { name: "stock containerd", start: startStockContainerd },
];

for (const { name, start } of daemons) {
  describe.skipIf(name !== "berthd" && !stockContainerdInstalled)(`Berth's ctr content and leases against ${name}`, () => {
    let daemon: RunningDaemon;
    const ctr = (args: string[], input?: string) =>
      runCommand(process.execPath, [berthCtr, "--address", daemon.address, ...args], {
        env: { PATH: process.env.PATH },
        ...(input === undefined ? {} : { input }),
      });
    beforeAll(async () => {
      daemon = (await start())!;
    });
    afterAll(async () => {
      await daemon?.cleanup();
    });

    it("ingests, lists, reads, labels and removes a blob as stock ctr shows it", async () => {
      const data = "hello from berth ctr\n";
      const digest = digestOf(data);
      expect(await ctr(["content", "ingest", "myref"], data)).toMatchObject({ code: 0, stdout: "" });
      expect((await ctr(["content", "ls"])).stdout).toBe(`DIGEST\t\t\t\t\t\t\t\t\tSIZE\tAGE\t\t\tLABELS\n${digest}\t21B\tLess than a second\t-\n`);
      expect((await ctr(["content", "get", digest])).stdout).toBe(data);
      expect((await ctr(["content", "label", digest, "foo=bar"])).stdout).toBe("foo=bar\n");
      expect((await ctr(["content", "ls", "-q", "labels.foo==bar"])).stdout).toBe(`${digest}\n`);
      expect((await ctr(["content", "rm", digest])).stdout).toBe(`${digest}\n`);
      expect((await ctr(["content", "ls", "-q"])).stdout).toBe("");
      expect((await ctr(["content", "active"])).stdout).toBe("REF\tSIZE\tAGE\t\n");
    });

    it("refuses content that does not match the expected digest", async () => {
      const result = await ctr(["content", "ingest", "--expected-digest", digestOf("x"), "liar"], "not x");
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^ctr: .*failed precondition\n$/);
      expect((await ctr(["content", "ls", "-q"])).stdout).toBe("");
    });

    it("creates, lists and removes leases", async () => {
      expect((await ctr(["leases", "create", "--id", "mylease", "-x", "0", "a=b"])).stdout).toBe("mylease\n");
      const listed = (await ctr(["leases", "ls"])).stdout.split("\n");
      expect(listed[0]).toMatch(/^ID +CREATED AT +LABELS +$/);
      expect(listed[1]).toMatch(/^mylease +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +a=b +$/);
      expect((await ctr(["leases", "rm", "mylease"])).stdout).toBe("mylease\n");
      expect((await ctr(["leases", "ls", "-q"])).stdout).toBe("");
    });
  });
}
