import { type ChildProcess, spawn } from "node:child_process";
import { statSync } from "node:fs";
import { type RunningDaemon, runCommand, startBerthd, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** Debian's own ctr 1.6 against berthd: the compatibility contract. */
describe.skipIf(!stockContainerdInstalled)("stock ctr against berthd", () => {
  let berthd: RunningDaemon;
  const watchers: ChildProcess[] = [];
  const ctr = (...args: string[]) => runCommand(stockCtr!, ["--address", berthd.address, ...args]);

  /** Runs `ctr events` in the background; returns a function that gives its lines so far. */
  const watchEvents = async (...filters: string[]) => {
    const child = spawn(stockCtr!, ["--address", berthd.address, "events", ...filters], { stdio: ["ignore", "pipe", "pipe"] });
    watchers.push(child);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk));
    // ctr gives no sign that its subscription is in place; give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return () => output.split("\n").filter(Boolean);
  };

  beforeAll(async () => {
    berthd = await startBerthd();
  });
  afterAll(async () => {
    for (const watcher of watchers) watcher.kill("SIGKILL");
    await berthd?.cleanup();
  });

  it("serves on a socket only root and its group may use", () => {
    expect(statSync(berthd.address).mode & 0o777).toBe(0o660);
  });

  it("creates, lists, labels and removes namespaces, publishing their events", async () => {
    const all = await watchEvents();
    const onlyNamespaces = await watchEvents("topic~=/namespaces/.+");
    const deletesOfFoo = await watchEvents("topic==/namespaces/delete,namespace==foo");

    expect(await ctr("namespaces", "create", "foo", "mylabel=bar")).toMatchObject({ code: 0, stdout: "" });
    const listed = await ctr("namespaces", "ls");
    expect(listed.stdout).toBe("NAME LABELS      \nfoo  mylabel=bar \n");
    expect(await ctr("namespaces", "label", "foo", "a=b")).toMatchObject({ code: 0 });
    expect((await ctr("namespaces", "ls")).stdout).toContain("foo  a=b,mylabel=bar ");
    expect((await ctr("namespaces", "ls", "-q")).stdout).toBe("foo\n");
    expect(await ctr("namespaces", "rm", "foo")).toMatchObject({ code: 0, stdout: "foo\n" });
    expect((await ctr("namespaces", "ls", "-q")).stdout).toBe("");
    await ctr("--namespace", "other", "version"); // a call in another namespace publishes nothing

    await new Promise((resolve) => setTimeout(resolve, 300));
    const shape = (line: string) => line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC /, "");
    expect(all().map(shape)).toEqual([
      'default /namespaces/create {"name":"foo","labels":{"mylabel":"bar"}}',
      'default /namespaces/update {"name":"foo","labels":{"a":"b"}}',
      'foo /namespaces/delete {"name":"foo"}',
    ]);
    expect(onlyNamespaces().map(shape)).toEqual(all().map(shape));
    expect(deletesOfFoo().map(shape)).toEqual(['foo /namespaces/delete {"name":"foo"}']);
  });

  it("refuses bad namespace names with InvalidArgument and creates nothing", async () => {
    const result = await ctr("namespaces", "create", "bad_name!");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ctr: namespace.name: identifier "bad_name!" must match .*: invalid argument/);
    expect((await ctr("namespaces", "ls", "-q")).stdout).not.toContain("bad_name");
  });

  it("says AlreadyExists for a second create", async () => {
    expect((await ctr("namespaces", "create", "twice")).code).toBe(0);
    const again = await ctr("namespaces", "create", "twice");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('namespace "twice": already exists');
    await ctr("namespaces", "rm", "twice");
  });

  it("rejects a malformed event filter with the position of the fault", async () => {
    const result = await ctr("events", "name=foo");
    expect(result.code).toBe(1);
    // stock ctr prints stream errors as the raw status
    expect(result.stderr).toMatch(/^ctr: rpc error: code = InvalidArgument desc = filters: parse error: .* at position 4: .*: invalid argument\n$/);
  });

  it("reports its version and its plugins", async () => {
    const version = await ctr("version");
    expect(version.stdout).toMatch(/Server:\n {2}Version: {2}\d+\.\d+\.\d+\n {2}Revision: berth-.*\n {2}UUID: [0-9a-f-]{36}\n/);
    const plugins = await ctr("plugins", "ls");
    const lines = plugins.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^TYPE +ID +PLATFORMS +STATUS +$/);
    expect(lines).toContainEqual(expect.stringMatching(/^io\.containerd\.grpc\.v1 +namespaces +- +ok +$/));
    expect(lines).toContainEqual(expect.stringMatching(/^io\.containerd\.metadata\.v1 +lmdb +- +ok +$/));
    const filtered = await ctr("plugins", "ls", "type==io.containerd.grpc.v1,id==events");
    expect(filtered.stdout.trim().split("\n")).toHaveLength(2);
  });
});
