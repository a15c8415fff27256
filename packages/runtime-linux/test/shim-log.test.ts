// Berth's shim serves many tasks but logs into one bundle's FIFO at a time: when that task is
// deleted (and the daemon stops reading its FIFO), the log moves to a task still served.
import type { CallContext } from "@berth/api";
import { type RuntimeLogger, berthShimPath } from "@berth/runtime-linux";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { waitFor } from "./daemon-setup.js";
import { createSleeper, managerFixture, removeTask } from "./manager-fixture.js";

const context: CallContext = { namespace: "shimlog" };

describe("Berth's shim log", () => {
  const shimLines: string[] = [];
  const logger: RuntimeLogger = {
    debug: (fields, message) => {
      if (message === "shim log") shimLines.push(String(fields["shim"]));
    },
    info: () => undefined,
    warn: () => undefined,
  };
  let fixture: Awaited<ReturnType<typeof managerFixture>>;

  beforeAll(async () => {
    fixture = await managerFixture("shim-log", berthShimPath, { logger, debug: true });
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  const logged = (text: string) => shimLines.some((line) => line.includes(text));
  const create = (id: string) => createSleeper(fixture, context, id);
  const remove = (id: string) => removeTask(fixture, context, id);

  test("reaches the daemon after the task whose bundle started the shim is deleted", async () => {
    const [first, second, third] = ["first", "second", "third"].map((name) => `${name}-${process.pid}`) as [string, string, string];
    try {
      await create(first);
      await create(second);
      expect(await waitFor(() => logged(`id=${second}`), 5_000)).toBe(true);
      await remove(first);
      await create(third);
      expect(await waitFor(() => logged(`msg="task created" id=${third}`), 5_000)).toBe(true);
    } finally {
      for (const id of [first, second, third]) await remove(id).catch(() => undefined);
    }
  });
});
