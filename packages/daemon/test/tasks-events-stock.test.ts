// `ctr events` filtered to the task topics shows, for run -d → pause → resume → exec → kill → rm,
// the same topics in the same order from berthd as from a stock containerd in the same test.
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import {
  type CtrSession,
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  ctrSession,
  disposeTaskDaemon,
  pushTestImage,
  spawnTracked,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
  stockCtr,
  stopProcess,
  waitUntil,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const namespace = `berth-test-task-events-${process.pid}`;

/** One `ctr events` subscriber: the lines it printed, split into topic and event text. */
interface Watcher {
  readonly child: ChildProcess;
  events(): { topic: string; event: Record<string, unknown> }[];
}

/** `ctr events <filter>` against a daemon; resolves once the subscription has had time to start. */
async function watch(address: string, filter: string): Promise<Watcher> {
  const child = spawnTracked(stockCtr!, ["--address", address, "events", filter]);
  let printed = "";
  child.stdout!.on("data", (chunk: Buffer) => (printed += chunk));
  // Stock containerd says nothing when a subscription starts; give both the same head start.
  await new Promise((resolve) => setTimeout(resolve, 500));
  return {
    child,
    // "2024-01-02 03:04:05.123456789 +0000 UTC <namespace> <topic> <event as JSON>"
    events: () =>
      printed
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => {
          const [, , , , , topic = "", ...rest] = line.split(" ");
          return { topic, event: JSON.parse(rest.join(" ") || "{}") as Record<string, unknown> };
        }),
  };
}

/** An event's fields with the values that differ between runs (pids, times) replaced by their type. */
function shape(event: Record<string, unknown>): Record<string, unknown> {
  const varying = new Set(["pid", "exited_at", "timestamp"]);
  return Object.fromEntries(Object.entries(event).map(([key, value]) => [key, varying.has(key) ? typeof value : value]));
}

describe.skipIf(!stockContainerdInstalled)("ctr events shows the task topics in containerd's order", () => {
  let registry: RunningRegistry;
  let image: string;
  const daemons: RunningDaemon[] = [];
  const sessions: CtrSession[] = [];

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
    image = `${registry.host}/library/busybox:latest`;
    daemons.push(await startBerthd({ logLevel: "info" }));
    daemons.push((await startStockContainerd())!);
    for (const daemon of daemons) {
      const session = ctrSession(daemon, namespace);
      sessions.push(session);
      const pulled = await session.ctr("images", "pull", "--plain-http", image);
      expect(pulled.code, pulled.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    for (const session of sessions) await session.removeAll().catch(() => undefined);
    for (const daemon of daemons) await disposeTaskDaemon(daemon, [namespace]);
    await registry?.stop();
  });

  /** The #6 sequence through stock ctr, with `ctr events` watching; returns what each watcher saw. */
  async function runSequence(session: CtrSession, filters: readonly string[]): Promise<Watcher["events"][]> {
    const watchers = await Promise.all(filters.map((filter) => watch(session.address, `namespace==${namespace},${filter}`)));
    try {
      const run = await session.ctr("run", "-d", ...session.runFlags, image, "c1", "sleep", "1000");
      expect(run.code, run.stderr).toBe(0);
      for (const step of [
        ["tasks", "pause", "c1"],
        ["tasks", "resume", "c1"],
      ]) {
        const result = await session.ctr(...step);
        expect(result.code, `${step.join(" ")}: ${result.stderr}`).toBe(0);
      }
      const exec = await session.ctr("tasks", "exec", "--fifo-dir", session.fifoDir, "--exec-id", "e1", "c1", "ls", "/");
      expect(exec.code, exec.stderr).toBe(0);
      expect((await session.ctr("tasks", "kill", "-s", "SIGKILL", "c1")).code).toBe(0);
      await waitUntil("c1 stopped", async () => (await session.taskStatuses()).c1 === "STOPPED");
      const removed = await session.ctr("tasks", "rm", "c1");
      expect(removed.code, removed.stderr).toBe(0);
      expect((await session.ctr("containers", "rm", "c1")).code).toBe(0);
      await waitUntil("the delete event everywhere", async () => watchers.every((watcher) => watcher.events().some((e) => e.topic === "/tasks/delete")));
      return watchers.map((watcher) => watcher.events);
    } finally {
      for (const watcher of watchers) await stopProcess(watcher.child);
    }
  }

  it("for run -d, pause, resume, exec, kill, rm: the same topics and event fields as stock containerd", async () => {
    // containerd 1.6 needs the regular expression quoted; Berth takes it either way.
    const quoted = 'topic~="/tasks/.+"';
    const [berthQuoted, berthBare] = await runSequence(sessions[0]!, [quoted, "topic~=/tasks/.+"]);
    const [containerd] = await runSequence(sessions[1]!, [quoted]);

    const expected = [
      "/tasks/create",
      "/tasks/start",
      "/tasks/paused",
      "/tasks/resumed",
      "/tasks/exec-added",
      "/tasks/exec-started",
      "/tasks/exit",
      "/tasks/exit",
      "/tasks/delete",
    ];
    const topics = (events: Watcher["events"]) => events().map((e) => e.topic);
    expect(topics(containerd!)).toEqual(expected);
    expect(topics(berthQuoted!)).toEqual(expected);
    expect(berthBare!()).toEqual(berthQuoted!());

    // The exec's exit names e1, the task's its own pid; both runs print the same fields.
    const exits = berthQuoted!()
      .filter((e) => e.topic === "/tasks/exit")
      .map((e) => e.event);
    expect(exits.map((exit) => [exit.id, exit.exit_status])).toEqual([
      ["e1", undefined],
      ["c1", 137],
    ]);
    const shapes = (events: Watcher["events"]) => events().map((e) => ({ topic: e.topic, event: shape(e.event) }));
    // Paths differ only by each daemon's own directory and ctr's random FIFO directory.
    const normalised = (events: Watcher["events"], daemon: RunningDaemon) =>
      JSON.parse(
        JSON.stringify(shapes(events))
          .replaceAll(join(daemon.root, ".."), "<base>")
          .replace(/\/fifo\/\d+\//g, "/fifo/<n>/"),
      ) as unknown;
    expect(normalised(berthQuoted!, daemons[0]!)).toEqual(normalised(containerd!, daemons[1]!));
  });
});
