import { createHash } from "node:crypto";
import { Client } from "@berth/client";
import { startBerthd } from "@berth/testkit";
import { describe, expect, it } from "vitest";

describe("an ingest across a berthd killed with SIGKILL", () => {
  it("resumes at its offset after the restart, and commits the right digest", async () => {
    const first = await startBerthd();
    try {
      const half = Buffer.alloc(2 << 20, 1);
      const whole = Buffer.concat([half, Buffer.alloc(1 << 20, 2)]);
      const digest = `sha256:${createHash("sha256").update(whole).digest("hex")}`;
      let client = await Client.connect({ address: first.address });
      const writer = await client.content.writer(client.context(), { ref: "survivor", total: whole.length, expected: digest });
      await writer.write(half);
      await first.kill();
      client.close();

      const second = await startBerthd({ reuse: first });
      try {
        client = await Client.connect({ address: second.address });
        expect((await client.content.status(client.context(), "survivor")).offset).toBe(half.length);
        const resumed = await client.content.writer(client.context(), { ref: "survivor", total: whole.length, expected: digest });
        expect((await resumed.status()).offset).toBe(half.length);
        await resumed.write(whole.subarray(half.length));
        await resumed.commit(whole.length, digest);
        expect((await client.content.info(client.context(), digest)).size).toBe(whole.length);
        client.close();
      } finally {
        await second.stop();
      }
    } finally {
      await first.cleanup();
    }
  });
});
