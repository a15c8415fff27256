// `berthd publish`, the runtime v1 shim's way to report events, against containerd's own
// `containerd publish`: both put the event read on stdin into berthd's exchange, and both refuse
// a missing topic or namespace.
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { events, google_protobuf_any } from "@berth/api/proto";
import { type RunningDaemon, runCommand, spawnTracked, startBerthd, stockCtr, stopProcess, waitUntil } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthdBin = fileURLToPath(new URL("../bin/berthd.js", import.meta.resolve("@berth/daemon")));
const stockContainerd = "/usr/bin/containerd";
const namespace = `berth-test-publish-${process.pid}`;

const oom = (id: string) =>
  google_protobuf_any.Any.encode({ typeUrl: "containerd.events.TaskOOM", value: Buffer.from(events.TaskOOM.encode({ containerId: id }).finish()) }).finish();

describe.skipIf(stockCtr === undefined)("berthd publish", () => {
  let berthd: RunningDaemon;
  let subscriber: ChildProcess;
  let seen = "";

  const publishWith = (binary: string, args: string[], input: Uint8Array) => runCommand(binary, ["--address", berthd.address, "publish", ...args], { input });

  beforeAll(async () => {
    berthd = await startBerthd();
    subscriber = spawnTracked(stockCtr!, ["--address", berthd.address, "events", `namespace==${namespace}`]);
    subscriber.stdout!.on("data", (chunk: Buffer) => (seen += chunk));
    await new Promise((resolve) => setTimeout(resolve, 500));
  });

  afterAll(async () => {
    if (subscriber !== undefined) await stopProcess(subscriber);
    await berthd?.cleanup();
  });

  it("publishes the Any on stdin under the topic and namespace given, as containerd publish does", async () => {
    const ours = await publishWith(berthdBin, ["--topic", "/tasks/oom", "--namespace", namespace], oom("from-berthd"));
    expect(ours, ours.stderr).toMatchObject({ code: 0, stdout: "" });
    const expected = [`${namespace} /tasks/oom {"container_id":"from-berthd"}`];
    if (existsSync(stockContainerd)) {
      const theirs = await publishWith(stockContainerd, ["--topic", "/tasks/oom", "--namespace", namespace], oom("from-containerd"));
      expect(theirs, theirs.stderr).toMatchObject({ code: 0 });
      expected.push(`${namespace} /tasks/oom {"container_id":"from-containerd"}`);
    }
    await waitUntil("the published events", async () => seen.trim().split("\n").length === expected.length);
    // ctr prints: date time zone UTC namespace topic event.
    expect(
      seen
        .trim()
        .split("\n")
        .map((line) => line.split(" ").slice(4).join(" ")),
    ).toEqual(expected);
  });

  it("fails (exit 1, a message) without a topic or a namespace, or with no daemon at the address", async () => {
    const noTopic = await publishWith(berthdBin, ["--namespace", namespace], oom("x"));
    expect(noTopic.code).toBe(1);
    expect(noTopic.stderr).toContain("topic required");
    const noNamespace = await publishWith(berthdBin, ["--topic", "/tasks/oom"], oom("x"));
    expect(noNamespace.code).toBe(1);
    expect(noNamespace.stderr).toContain("namespace");
    const noDaemon = await runCommand(berthdBin, ["--address", `${berthd.address}.none`, "publish", "--topic", "/tasks/oom", "--namespace", namespace], {
      input: oom("x"),
    });
    expect(noDaemon.code).toBe(1);
    if (existsSync(stockContainerd)) {
      for (const args of [
        ["--namespace", namespace],
        ["--topic", "/tasks/oom"],
      ])
        expect((await publishWith(stockContainerd, args, oom("x"))).code).toBe(1);
    }
    expect(seen).not.toContain('"x"');
  });
});
