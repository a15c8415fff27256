// Berth's shim closes a descriptor once: a FIFO an exec's output went to is not closed again when
// the exec is deleted, under whatever took its number meanwhile (here, new ttrpc connections).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type CallContext, packJson } from "@berth/api";
import { taskTypes, taskV2 } from "@berth/api/proto";
import { berthShimPath } from "@berth/runtime-linux";
import { TtrpcClient, socketPathOf, ttrpcServiceClient } from "@berth/ttrpc";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createSleeper, managerFixture, removeTask } from "./manager-fixture.js";

const namespace = "descriptors";
const context: CallContext = { namespace };
const noIO = { stdin: "", stdout: "", stderr: "", terminal: false };

describe("Berth's shim and the descriptors it closes", () => {
  let fixture: Awaited<ReturnType<typeof managerFixture>>;

  beforeAll(async () => {
    fixture = await managerFixture("shim-descriptors", berthShimPath);
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  test("deleting an exec whose output was delivered leaves the shim's other connections working", async () => {
    const id = `keeper-${process.pid}`;
    const task = await createSleeper(fixture, context, id);
    const clients: TtrpcClient[] = [];
    try {
      await task.start(context);
      const fifo = join(fixture.scratch, "exec-output");
      execFileSync("mkfifo", [fifo]);
      const process = packJson("types.containerd.io/opencontainers/runtime-spec/1/Process", {
        args: ["echo", "delivered"],
        cwd: "/",
        env: ["PATH=/bin"],
        user: { uid: 0, gid: 0 },
      });
      const exec = await task.exec(context, "e1", { spec: process, io: { ...noIO, stdout: fifo, stderr: fifo } });
      await exec.start(context);
      expect((await exec.wait(context)).status).toBe(0);

      // New connections take the lowest free descriptors, among them those the exec's output had.
      const address = socketPathOf(readFileSync(join(fixture.options.state, namespace, id, "address"), "utf8").trim());
      for (let i = 0; i < 8; i++) clients.push(await TtrpcClient.connect(address, 5_000));
      const services = clients.map((client) => ttrpcServiceClient(taskV2.TaskDefinition, client, { namespace }));
      for (const service of services) expect((await service.state({ id, execId: "" }, { timeoutMs: 5_000 })).status).toBe(taskTypes.Status.RUNNING);

      await exec.delete(context);
      const answers = await Promise.allSettled(services.map((service) => service.state({ id, execId: "" }, { timeoutMs: 5_000 })));
      expect(answers.map((answer) => answer.status)).toEqual(services.map(() => "fulfilled"));
    } finally {
      for (const client of clients) client.close();
      await removeTask(fixture, context, id);
    }
  });
});
