// Berth's shim serves many tasks but logs into one bundle's FIFO at a time: when that task is
// deleted (and the daemon stops reading its FIFO), the log moves to a task still served.
import { type CallContext, packJson } from "@berth/api";
import { type RuntimeLogger, berthShimPath } from "@berth/runtime-linux";
import { shimsOf } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { managerFixture } from "./manager-fixture.js";

const context: CallContext = { namespace: "shimlog" };
const noIO = { stdin: "", stdout: "", stderr: "", terminal: false };

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
    for (const pid of shimsOf(fixture.options.address)) process.kill(pid, "SIGKILL");
    await fixture?.cleanup();
  });

  const create = async (id: string) => {
    const spec = packJson("types.containerd.io/opencontainers/runtime-spec/1/Spec", fixture.spec(id, ["sleep", "1000"]));
    return fixture.runtime.create(context, id, { spec, rootfs: [{ type: "bind", source: fixture.rootfs, options: ["rbind", "rw"] }], io: noIO, runtime: fixture.runtimeName });
  };
  const remove = async (id: string) => {
    const task = await fixture.runtime.get(context, id);
    await task.kill(context, 9, false).catch(() => undefined);
    await task.wait(context);
    await fixture.runtime.delete(context, id);
  };
  const logged = (text: string) => shimLines.some((line) => line.includes(text));
  const until = async (probe: () => boolean) => {
    for (let deadline = Date.now() + 5_000; !probe() && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
    return probe();
  };

  test("reaches the daemon after the task whose bundle started the shim is deleted", async () => {
    const [first, second, third] = ["first", "second", "third"].map((name) => `${name}-${process.pid}`) as [string, string, string];
    try {
      await create(first);
      await create(second);
      expect(await until(() => logged(`id=${second}`))).toBe(true);
      await remove(first);
      await create(third);
      expect(await until(() => logged(`msg="task created" id=${third}`))).toBe(true);
    } finally {
      for (const id of [first, second, third]) await remove(id).catch(() => undefined);
    }
  });
});
