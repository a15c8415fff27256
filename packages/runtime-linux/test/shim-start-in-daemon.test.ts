import { type ChildProcess } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { berthShimPath } from "@berth/runtime-linux";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSleeper, managerFixture, removeTask } from "./manager-fixture.js";

/** The shim's `start` runs that this process spawns meanwhile (node's child_process channel). */
function recordShimStarts(): { readonly starts: string[][]; stop: () => void } {
  // Told as each child is made, before its arguments are set: they are read afterwards.
  const children: (ChildProcess & { spawnargs?: string[] })[] = [];
  const listener = (message: unknown) => void children.push((message as { process: ChildProcess }).process);
  subscribe("child_process", listener);
  return {
    get starts() {
      return children.map((child) => child.spawnargs ?? []).filter((args) => args[0] === berthShimPath && args.includes("start"));
    },
    stop: () => unsubscribe("child_process", listener),
  };
}

describe("berthd's shim manager with Berth's own shim", () => {
  let fixture: Awaited<ReturnType<typeof managerFixture>>;
  beforeAll(async () => {
    fixture = await managerFixture("shim-fast", berthShimPath);
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it("runs `start` only to launch a group's server: a task of a group whose server runs is started without it", async () => {
    const context = { namespace: "fastpath" };
    const first = recordShimStarts();
    try {
      await createSleeper(fixture, context, "one");
    } finally {
      first.stop();
    }
    expect(first.starts).toHaveLength(1);

    const second = recordShimStarts();
    try {
      const task = await createSleeper(fixture, context, "two");
      await task.start(context);
      expect((await task.state(context)).status).toBe("running");
    } finally {
      second.stop();
    }
    expect(second.starts).toEqual([]);
    // The bundle records the server's address as `start` does; both tasks are served by the same server.
    const address = (id: string) => readFileSync(join(fixture.options.state, "fastpath", id, "address"), "utf8");
    expect(address("two")).toBe(address("one"));
    expect(address("two")).toMatch(/^unix:\/\/\/.+\/s\/[0-9a-f]{64}$/);

    // Another namespace is another group: its server is launched through `start`.
    const other = recordShimStarts();
    try {
      await createSleeper(fixture, { namespace: "fastpath-other" }, "three");
    } finally {
      other.stop();
    }
    expect(other.starts).toHaveLength(1);
    await removeTask(fixture, { namespace: "fastpath-other" }, "three");
    await removeTask(fixture, context, "two");
    await removeTask(fixture, context, "one");
  });
});
