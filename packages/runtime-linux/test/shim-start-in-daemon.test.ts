import type { ChildProcess } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { berthShimPath } from "@berth/runtime-linux";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSleeper, managerFixture, removeTask } from "./manager-fixture.js";

/** The processes this process spawns meanwhile (node's child_process channel), as argv and pid. */
function recordSpawns(): { readonly spawned: { args: string[]; pid: number | undefined }[]; stop: () => void } {
  // Told as each child is made, before its arguments are set: they are read afterwards.
  const children: (ChildProcess & { spawnargs?: string[] })[] = [];
  const listener = (message: unknown) => void children.push((message as { process: ChildProcess }).process);
  subscribe("child_process", listener);
  return {
    get spawned() {
      return children.map((child) => ({ args: child.spawnargs ?? [], pid: child.pid }));
    },
    stop: () => unsubscribe("child_process", listener),
  };
}

const shimStarts = (spawned: { args: string[] }[]) => spawned.filter(({ args }) => args.includes(berthShimPath) && args.at(-1) === "start");
const shimServers = (spawned: { args: string[]; pid: number | undefined }[]) =>
  spawned.filter(({ args }) => args.includes(berthShimPath) && args.at(-1) === "serve");

describe("berthd's shim manager with Berth's own shim", () => {
  let fixture: Awaited<ReturnType<typeof managerFixture>>;
  beforeAll(async () => {
    fixture = await managerFixture("shim-fast", berthShimPath);
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it("does what `start` does itself: launches a group's server once, in a session of its own, and no `start` process", async () => {
    const context = { namespace: "fastpath" };
    const other = { namespace: "fastpath-other" };
    const recorded = recordSpawns();
    try {
      await createSleeper(fixture, context, "one");
      const task = await createSleeper(fixture, context, "two");
      await task.start(context);
      expect((await task.state(context)).status).toBe("running");
      await createSleeper(fixture, other, "three");
    } finally {
      recorded.stop();
    }
    expect(shimStarts(recorded.spawned)).toEqual([]);
    // One server per group (namespace), each the leader of its own session, so that it outlives the daemon.
    const servers = shimServers(recorded.spawned);
    expect(servers).toHaveLength(2);
    for (const { pid } of servers) {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const session = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
      expect(session).toBe(pid);
    }
    // The bundle records the server's address as `start` does.
    const address = (namespace: string, id: string) => readFileSync(join(fixture.options.state, namespace, id, "address"), "utf8");
    expect(address("fastpath", "two")).toBe(address("fastpath", "one"));
    expect(address("fastpath", "one")).toMatch(/^unix:\/\/\/.+\/s\/[0-9a-f]{64}$/);
    expect(address("fastpath-other", "three")).not.toBe(address("fastpath", "one"));
    await removeTask(fixture, other, "three");
    await removeTask(fixture, context, "two");
    await removeTask(fixture, context, "one");
  });

  it("keeps the server's compiled code under the manager's root, and a server still serves when that cache is damaged", async () => {
    const cache = join(fixture.options.root, ".shim-cache");
    const cacheFiles = () =>
      existsSync(cache) ? readdirSync(cache, { recursive: true, encoding: "utf8" }).filter((name) => statSync(join(cache, name)).isFile()) : [];
    const first = { namespace: "cache-first" };
    const task = await createSleeper(fixture, first, "one");
    await task.start(first);
    expect((await task.state(first)).status).toBe("running");
    // Written once the server created its first task (Node would write it only when the server exits).
    const files = cacheFiles();
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) writeFileSync(join(cache, name), "not a code cache");
    const second = { namespace: "cache-damaged" };
    const other = await createSleeper(fixture, second, "two");
    await other.start(second);
    expect((await other.state(second)).status).toBe("running");
    await removeTask(fixture, second, "two");
    await removeTask(fixture, first, "one");
  });
});
