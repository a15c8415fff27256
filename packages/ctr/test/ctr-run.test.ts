// Berth's ctr runs containers through a stock containerd and through berthd, printing what
// Debian's stock ctr prints for the same commands.
import { existsSync, mkdirSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Envelope } from "@berth/api";
import { Client } from "@berth/client";
import {
  type RunningDaemon,
  type RunningRegistry,
  type LoopBtrfs,
  buildBusyboxImage,
  makeLoopBtrfs,
  pushTestImage,
  reapRuntimeLeftovers,
  runCommand,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
  stockCtr,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));
const namespace = `berth-test-ctr-run-${process.pid}`;
const scriptInstalled = existsSync("/usr/bin/script");

function rmdirIfEmpty(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // not there, or not ours to empty
  }
}

/** Stock ctr's log lines carry the time; the rest must match. */
const timeless = (text: string) => text.replace(/time="[^"]+"/g, 'time="…"');

const daemons: { name: string; start: () => Promise<RunningDaemon | undefined>; runcRoot: (daemon: RunningDaemon) => string }[] = [
  { name: "berthd", start: () => startBerthd(), runcRoot: (daemon) => join(daemon.state, "runc") },
  // Stock containerd would keep runc's state in /run/containerd/runc; the test gives its own.
  { name: "stock containerd", start: () => startStockContainerd(), runcRoot: (daemon) => join(daemon.root, "..", "runc") },
];

describe.skipIf(!stockContainerdInstalled)("Berth's ctr beside stock ctr", () => {
  describe.each(daemons)("Berth's ctr runs containers through $name", ({ start, runcRoot }) => {
    let registry: RunningRegistry;
    let daemon: RunningDaemon;
    let image: string;
    let fifoDir: string;
    let base: string;
    let client: Client;

    const options = (...args: string[]) => ["--address", daemon.address, "-n", namespace, ...args];
    const ctr = (args: string[], input?: string) =>
      runCommand(process.execPath, [berthCtr, ...options(...args)], {
        env: { PATH: process.env.PATH },
        timeoutMs: 60_000,
        ...(input === undefined ? {} : { input }),
      });
    const stock = (...args: string[]) => runCommand(stockCtr!, options(...args), { timeoutMs: 60_000 });
    /** runc's state in the test's directory. */
    const runcFlags = () => ["--runc-root", runcRoot(daemon)];
    const runFlags = () => ["--fifo-dir", fifoDir, ...runcFlags()];
    const fifoDirsLeft = () => (existsSync(fifoDir) ? readdirSync(fifoDir) : []);
    const statusOf = async (id: string) =>
      (await ctr(["tasks", "ls"])).stdout
        .split("\n")
        .find((line) => line.startsWith(`${id} `))
        ?.split(/\s+/)[2];
    const until = async (what: string, probe: () => Promise<boolean>) => {
      const deadline = Date.now() + 15_000;
      while (!(await probe())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };

    beforeAll(async () => {
      registry = await startRegistry();
      await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
      image = `${registry.host}/library/busybox:latest`;
      daemon = (await start())!;
      base = join(daemon.root, "..");
      fifoDir = join(base, "fifo");
      mkdirSync(fifoDir, { recursive: true });
      client = await Client.connect({ address: daemon.address, namespace });
      const pulled = await ctr(["images", "pull", "--plain-http", image]);
      expect(pulled.code, pulled.stderr).toBe(0);
    });

    afterAll(async () => {
      if (client !== undefined) {
        for (const task of await client.tasks.list(client.context()).catch(() => [])) {
          await client.tasks.kill(client.context(), task.id, 9, { all: true }).catch(() => undefined);
          await ctr(["tasks", "rm", "-f", task.id]);
        }
        client.close();
      }
      await daemon?.stop();
      if (base !== undefined) await reapRuntimeLeftovers({ directory: base, runcRoots: [runcRoot(daemon)], cgroups: [`/${namespace}`] });
      await daemon?.cleanup();
      await registry?.stop();
      // The stock shim makes runc's default state directory for the namespace even when told another root.
      if (daemon?.kind === "containerd") rmdirIfEmpty(`/run/containerd/runc/${namespace}`);
    });

    it("run --rm prints the output, exits 0 and leaves no container, task or FIFO; events in containerd's order", async () => {
      const abort = new AbortController();
      const stream = client.events.subscribe([`namespace==${namespace},topic~="/(tasks|containers)/.+"`], abort.signal);
      // containerd sends a subscription's headers with its first event only: give it a moment instead.
      await Promise.race([stream.ready, new Promise((resolve) => setTimeout(resolve, 500))]);
      const topics: string[] = [];
      const reading = (async () => {
        for await (const envelope of stream as AsyncIterable<Envelope>) {
          topics.push(envelope.topic);
          if (envelope.topic === "/containers/delete") break;
        }
      })();
      const run = await ctr(["run", "--rm", ...runFlags(), image, "c1", "echo", "hello"]);
      expect(run).toMatchObject({ code: 0, stdout: "hello\n", stderr: "" });
      await reading;
      abort.abort();
      expect(topics).toEqual(["/containers/create", "/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete", "/containers/delete"]);
      expect((await ctr(["containers", "ls", "-q"])).stdout).toBe("");
      expect((await ctr(["tasks", "ls", "-q"])).stdout).toBe("");
      expect(fifoDirsLeft()).toEqual([]);
    });

    it("run exits with the task's exit code, passes stdin on, and takes a command line with its own flags", async () => {
      const failed = await ctr(["run", "--rm", ...runFlags(), image, "c1b", "sh", "-c", "echo out; echo err >&2; exit 3"]);
      expect(failed).toMatchObject({ code: 3, stdout: "out\n", stderr: "err\n" });
      const piped = await ctr(["run", "--rm", ...runFlags(), image, "c1c", "cat"], "piped through stdin\n");
      expect(piped).toMatchObject({ code: 0, stdout: "piped through stdin\n" });
      const env = await ctr(["run", "--rm", "--env", "GREETING=hi there", "--label", "x=y", ...runFlags(), image, "c1d", "sh", "-c", "echo $GREETING"]);
      expect(env).toMatchObject({ code: 0, stdout: "hi there\n" });
      // A word of the command that repeats the id (or another word) stays where it was typed.
      const repeated = await ctr(["run", "--rm", ...runFlags(), image, "c1f", "echo", "c1f", "echo"]);
      expect(repeated).toMatchObject({ code: 0, stdout: "c1f echo\n" });
      const hostNet = await ctr([
        "run",
        "--rm",
        "--net-host",
        "--mount",
        `type=bind,src=${fifoDir},dst=/host,options=rbind:ro`,
        ...runFlags(),
        image,
        "c1e",
        "ls",
        "/host",
      ]);
      expect(hostNet.code, hostNet.stderr).toBe(0);
      expect((await ctr(["containers", "ls", "-q"])).stdout).toBe("");
      expect(fifoDirsLeft()).toEqual([]);
    });

    it("run -d, tasks ls/pause/resume/exec/ps/metrics/kill/rm and containers rm, as stock ctr prints them", async () => {
      const run = await ctr(["run", "-d", ...runFlags(), image, "c2", "sleep", "1000"]);
      expect(run).toMatchObject({ code: 0, stdout: "", stderr: "" });
      const listed = await ctr(["tasks", "ls"]);
      expect(listed.stdout).toMatch(/^TASK {4}PID {4,}STATUS {4}\nc2 {6}\d+ {4,}RUNNING\n$/);
      expect(listed.stdout).toBe((await stock("tasks", "ls")).stdout);

      expect(await ctr(["tasks", "pause", "c2"])).toMatchObject({ code: 0, stdout: "" });
      expect(await statusOf("c2")).toBe("PAUSED");
      expect(await ctr(["tasks", "resume", "c2"])).toMatchObject({ code: 0, stdout: "" });
      expect(await statusOf("c2")).toBe("RUNNING");

      const exec = await ctr(["tasks", "exec", "--fifo-dir", fifoDir, "--exec-id", "e1", "c2", "ls", "/"]);
      expect(exec.code, exec.stderr).toBe(0);
      expect(exec.stdout.split("\n")).toEqual(expect.arrayContaining(["bin", "etc", "proc"]));
      const exitingExec = await ctr(["tasks", "exec", "--fifo-dir", fifoDir, "--exec-id", "e2", "c2", "sh", "-c", "exit 5"]);
      expect(exitingExec.code).toBe(5);
      const detached = await ctr(["tasks", "exec", "-d", "--fifo-dir", fifoDir, "--exec-id", "e3", "c2", "sleep", "1000"]);
      expect(detached).toMatchObject({ code: 0, stdout: "" });

      const ps = await ctr(["tasks", "ps", "c2"]);
      // Rows come in pid order, and pids may wrap between the task and its exec.
      const [header, ...psRows] = ps.stdout.trimEnd().split("\n");
      expect(header).toMatch(/^PID +INFO$/);
      expect(psRows.map((row) => row.replace(/^\d+ +/, "")).sort()).toEqual(["&ProcessDetails{ExecID:e3,XXX_unrecognized:[],}", "-"]);
      expect(ps.stdout).toBe((await stock("tasks", "ps", "c2")).stdout);

      const metrics = await ctr(["tasks", "metrics", "c2"]);
      expect(metrics.code, metrics.stderr).toBe(0);
      expect(metrics.stdout).toMatch(/^ID {4}TIMESTAMP +\nc2 {4}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC {4}\n\nMETRIC +VALUE +\n/);
      const rows = (text: string) =>
        text
          .split("\n\n")[1]!
          .split("\n")
          .map((line) => line.split(/\s+/)[0]);
      expect(rows(metrics.stdout)).toEqual(rows((await stock("tasks", "metrics", "c2")).stdout));
      expect(metrics.stdout).toMatch(/^(memory\.usage_in_bytes|memory\.usage) +[1-9]\d* +$/m);
      const json = await ctr(["tasks", "metrics", "--format", "json", "c2"]);
      expect(Object.keys(JSON.parse(json.stdout))).toEqual(Object.keys(JSON.parse((await stock("tasks", "metrics", "--format", "json", "c2")).stdout)));

      const running = await ctr(["tasks", "rm", "c2"]);
      expect(running.code).toBe(1);
      expect(timeless(running.stderr)).toBe(timeless((await stock("tasks", "rm", "c2")).stderr));
      const busy = await ctr(["containers", "rm", "c2"]);
      expect(busy.code).toBe(1);
      expect(timeless(busy.stderr)).toBe(timeless((await stock("containers", "rm", "c2")).stderr));

      expect(await ctr(["tasks", "kill", "-s", "SIGKILL", "c2"])).toMatchObject({ code: 0, stdout: "" });
      await until("c2 stopped", async () => (await statusOf("c2")) === "STOPPED");
      expect(await ctr(["tasks", "rm", "--exec-id", "e3", "c2"])).toMatchObject({ code: 137 });
      const removed = await ctr(["tasks", "rm", "c2"]);
      expect(removed).toMatchObject({ code: 0, stdout: "" });
      expect(removed.stderr).toMatch(/^time="\S+" level=warning msg="task c2 exit with non-zero exit code 137"\n$/);
      expect(await ctr(["containers", "rm", "c2"])).toMatchObject({ code: 0, stdout: "", stderr: "" });
      expect((await ctr(["containers", "ls", "-q"])).stdout).toBe("");
      expect(fifoDirsLeft()).toEqual([]);
    });

    it("containers create, tasks start and attach run what was created", async () => {
      expect(await ctr(["containers", "create", ...runcFlags(), image, "c3", "sh", "-c", "echo started; exit 7"])).toMatchObject({ code: 0, stdout: "" });
      const started = await ctr(["tasks", "start", "--fifo-dir", fifoDir, "c3"]);
      expect(started).toMatchObject({ code: 7, stdout: "started\n" });
      expect((await ctr(["tasks", "ls", "-q"])).stdout).toBe("");
      expect(await ctr(["containers", "rm", "c3"])).toMatchObject({ code: 0 });

      // ctr run -d leaves with its end of stdin, so the task reads EOF there: attach shows output and the exit.
      expect((await ctr(["run", "-d", ...runFlags(), image, "c4", "sh", "-c", "sleep 2; echo late; exit 2"])).code).toBe(0);
      const attached = await ctr(["tasks", "attach", "c4"]);
      expect(attached).toMatchObject({ code: 2, stdout: "late\n" });
      expect(await ctr(["tasks", "rm", "c4"])).toMatchObject({ code: 0 });
      expect(await ctr(["containers", "rm", "c4"])).toMatchObject({ code: 0 });
      expect(fifoDirsLeft()).toEqual([]);
    });

    it("says what stock ctr says about bad input, and leaves nothing behind", async () => {
      expect((await ctr(["containers", "create", image, "taken"])).code).toBe(0);
      const cases = [
        ["run", "--rm", "--fifo-dir", fifoDir, "nosuch.example/image:1", "z1", "true"],
        ["run", "--rm", "--fifo-dir", fifoDir, image, "taken", "true"],
        ["run", "--rm", "--fifo-dir", fifoDir, image, "z2", "/nonexistent"],
        ["run", "-d", "--rm", image, "z3", "true"],
        ["run", image],
        ["tasks", "pause", "taken"],
        ["tasks", "kill", "nope"],
        ["tasks", "metrics", "nope"],
        ["containers", "rm", "taken", "nope"],
      ];
      for (const args of cases) {
        const ours = await ctr(args);
        // `containers rm taken nope` removed "taken": stock ctr gets it back to remove it too.
        if (args[0] === "containers") await stock("containers", "create", image, "taken");
        const theirs = await stock(...args);
        expect([args.join(" "), ours.code, timeless(ours.stderr)]).toEqual([args.join(" "), theirs.code, timeless(theirs.stderr)]);
        expect(ours.code).not.toBe(0);
      }
      expect((await ctr(["containers", "ls", "-q"])).stdout).toBe("");
      expect((await ctr(["snapshots", "ls"])).stdout).not.toMatch(/^(z\d|taken) /m);
      expect(fifoDirsLeft()).toEqual([]);
    });

    it("shows containers as stock ctr does", async () => {
      const flags = ["--env", "A=b", "--label", "tier=web", "--net-host", "--mount", "type=bind,src=/tmp,dst=/host,options=rbind:ro"];
      expect(await ctr(["containers", "create", ...flags, image, "ours", "echo", "hi"])).toMatchObject({ code: 0, stderr: "" });
      expect(await stock("containers", "create", ...flags, image, "theirs", "echo", "hi")).toMatchObject({ code: 0 });
      const info = async (run: typeof stock, id: string) => {
        const text = (await run("containers", "info", id)).stdout;
        return text
          .replace(/"(CreatedAt|UpdatedAt)": "[^"]+"/g, '"$1": "…"')
          .replaceAll(`/${id}"`, '/ID"')
          .replaceAll(`"${id}"`, '"ID"');
      };
      const theirs = await info(stock, "theirs");
      expect(await info((...args) => ctr(args), "ours")).toBe(theirs);
      expect(await info(stock, "ours")).toBe(theirs);
      expect((await ctr(["containers", "ls"])).stdout).toBe((await stock("containers", "ls")).stdout);
      expect((await ctr(["containers", "ls", "labels.tier==web", "id==ours"])).stdout).toBe(
        (await stock("containers", "ls", "labels.tier==web", "id==ours")).stdout,
      );
      expect((await ctr(["containers", "info", "--spec", "ours"])).stdout.replaceAll("/ours", "/ID")).toBe(
        (await stock("containers", "info", "--spec", "theirs")).stdout.replaceAll("/theirs", "/ID"),
      );
      const labelled = await ctr(["containers", "label", "ours", "tier=", "x=1"]);
      expect(labelled.stdout).toBe("io.containerd.image.config.stop-signal=SIGTERM,x=1\n");
      expect(await ctr(["containers", "rm", "ours", "theirs"])).toMatchObject({ code: 0, stdout: "", stderr: "" });
    });

    it.skipIf(!scriptInstalled)("run -t gives the process a terminal", async () => {
      const command = [process.execPath, berthCtr, ...options("run", "--rm", "-t", ...runFlags(), image, "t1", "sh", "-c", "tty; exit 4")]
        .map((part) => `'${part}'`)
        .join(" ");
      const result = await runCommand("script", ["-qec", command, "/dev/null"], { timeoutMs: 60_000 });
      expect(result.code).toBe(4);
      expect(result.stdout).toMatch(/\/dev\/pts\/\d+/);
      expect((await ctr(["containers", "ls", "-q"])).stdout).toBe("");
    });
  });
});

describe("Berth's ctr runs containers on berthd's btrfs snapshotter", () => {
  let btrfs: LoopBtrfs;
  let registry: RunningRegistry;
  let berthd: RunningDaemon;
  let image: string;
  const ctr = (...args: string[]) =>
    runCommand(process.execPath, [berthCtr, "--address", berthd.address, "-n", namespace, ...args], { env: { PATH: process.env.PATH }, timeoutMs: 60_000 });

  beforeAll(async () => {
    btrfs = await makeLoopBtrfs();
    registry = await startRegistry();
    await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
    image = `${registry.host}/library/busybox:latest`;
    berthd = await startBerthd({
      config: `version = 2\n[plugins."io.containerd.snapshotter.v1.btrfs"]\nroot_path = ${JSON.stringify(join(btrfs.mnt, "snapshots"))}\n`,
    });
    expect((await ctr("images", "pull", "--plain-http", image)).code).toBe(0);
  });
  afterAll(async () => {
    await berthd?.stop();
    if (berthd !== undefined)
      await reapRuntimeLeftovers({ directory: join(berthd.root, ".."), runcRoots: [join(berthd.state, "runc")], cgroups: [`/${namespace}`] });
    await berthd?.cleanup();
    await registry?.stop();
    await btrfs?.dispose();
  });

  it("unpacks the image into btrfs on first use, runs from its snapshot, and removes it with the container", async () => {
    const fifoDir = join(berthd.root, "..", "fifo");
    const run = await ctr("run", "--rm", "--snapshotter", "btrfs", "--fifo-dir", fifoDir, image, "b1", "sh", "-c", "echo on btrfs; ls /bin/busybox");
    expect(run).toMatchObject({ code: 0, stdout: "on btrfs\n/bin/busybox\n", stderr: "" });
    expect((await ctr("run", "-d", "--snapshotter", "btrfs", "--fifo-dir", fifoDir, image, "b2", "sleep", "1000")).code).toBe(0);
    expect((await ctr("containers", "info", "b2")).stdout).toContain('"Snapshotter": "btrfs"');
    expect((await ctr("snapshots", "ls", "--snapshotter", "btrfs")).stdout).toMatch(/^b2 +sha256:[0-9a-f]{64} +Active/m);
    const exec = await ctr("tasks", "exec", "--fifo-dir", fifoDir, "--exec-id", "e1", "b2", "cat", "/etc/passwd");
    expect(exec).toMatchObject({ code: 0, stdout: "root:x:0:0:root:/root:/bin/sh\n" });
    expect((await ctr("tasks", "kill", "-s", "SIGKILL", "b2")).code).toBe(0);
    const deadline = Date.now() + 15_000;
    while (!(await ctr("tasks", "ls")).stdout.includes("STOPPED") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await ctr("tasks", "rm", "b2")).stderr).toContain("exit with non-zero exit code 137");
    expect((await ctr("containers", "rm", "b2")).code).toBe(0);
    expect((await ctr("snapshots", "ls", "--snapshotter", "btrfs")).stdout).not.toMatch(/^b[12] /m);
  });
});
