// Berth's shim as a stock containerd 1.6 runs it (`ctr run --runtime <path>`), and as berthd
// runs it, both driven by stock ctr: containerd is a known-good shim v2 client, so this is the
// shim's conformance test.
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { berthShimPath } from "@berth/runtime-linux";
import { runCommand, spawnTracked, stockContainerdInstalled, stockCtr, stopProcess } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type DaemonKind, type DaemonSetup, shimServers, startDaemonSetup, waitFor } from "./daemon-setup.js";

describe.skipIf(!stockContainerdInstalled).each<DaemonKind>(["containerd", "berthd"])("Berth's shim under %s, driven by stock ctr", (kind) => {
  // Named berth-test-* so that CI spots a cgroup (/<namespace>/<id>) left behind.
  const namespace = `berth-test-shim-${kind}-${process.pid}`;
  let setup: DaemonSetup;
  let fifoDir: string;

  const run = (args: readonly string[], input?: string) =>
    setup.ctr(["run", "--runtime", berthShimPath, ...setup.session.runFlags, ...args], input === undefined ? {} : { input });
  const exec = (args: readonly string[]) => setup.ctr(["tasks", "exec", "--fifo-dir", fifoDir, ...args]);
  const taskLine = async (id: string) => (await setup.ctr(["tasks", "ls"])).stdout.split("\n").find((line) => line.startsWith(`${id} `)) ?? "";
  const stopped = async (id: string) => waitFor(async () => (await taskLine(id)).endsWith("STOPPED"));
  const servers = () => shimServers(setup.daemon.address);

  beforeAll(async () => {
    setup = await startDaemonSetup(kind, namespace);
    fifoDir = setup.session.fifoDir;
    mkdirSync(fifoDir, { recursive: true });
  });
  afterAll(async () => {
    await setup?.cleanup();
  });

  test("ctr run --rm prints the output, passes stdin and exits with the task's code", async () => {
    expect(await run(["--rm", setup.image, "hello", "echo", "hello"])).toMatchObject({ code: 0, stdout: "hello\n", stderr: "" });
    // (Not `cat`: ctr 1.6 may miss the EOF of a short stdin and never send CloseIO, with any shim.)
    const piped = await run(["--rm", setup.image, "piped", "sh", "-c", 'read line; echo "got $line"'], "through stdin\n");
    expect(piped).toMatchObject({ code: 0, stdout: "got through stdin\n" });
    const failed = await run(["--rm", setup.image, "seven", "sh", "-c", "echo out; echo err >&2; exit 7"]);
    expect(failed).toMatchObject({ code: 7, stdout: "out\n", stderr: "err\n" });
    expect((await setup.ctr(["containers", "ls", "-q"])).stdout).toBe("");
  });

  test("a detached task: ls, pause, resume, exec, ps, metrics, kill, rm with 137", async () => {
    expect(await run(["-d", setup.image, "sleeper", "sleep", "1000"])).toMatchObject({ code: 0 });
    expect(await taskLine("sleeper")).toMatch(/^sleeper\s+\d+\s+RUNNING$/);
    const pid = Number((await taskLine("sleeper")).split(/\s+/)[1]);
    // ctr sends no runc options for a runtime given by path: runc's root defaults to <state>/runc/<namespace>.
    expect(existsSync(join(setup.daemon.state, "runc", namespace, "sleeper", "state.json"))).toBe(true);

    expect((await setup.ctr(["tasks", "pause", "sleeper"])).code).toBe(0);
    expect(await taskLine("sleeper")).toMatch(/PAUSED$/);
    expect((await setup.ctr(["tasks", "resume", "sleeper"])).code).toBe(0);
    expect(await taskLine("sleeper")).toMatch(/RUNNING$/);

    const listed = await exec(["--exec-id", "e1", "sleeper", "ls", "/"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split("\n")).toEqual(expect.arrayContaining(["bin", "etc", "proc"]));
    const exitCode = await exec(["--exec-id", "e2", "sleeper", "sh", "-c", "exit 5"]);
    expect(exitCode.code).toBe(5);

    const ps = await setup.ctr(["tasks", "ps", "sleeper"]);
    expect(ps.stdout).toMatch(new RegExp(`^${pid}\\s`, "m"));

    const metrics = await setup.ctr(["tasks", "metrics", "sleeper"]);
    expect(metrics.code, metrics.stderr).toBe(0);
    expect(metrics.stdout).toMatch(/^sleeper\s+\d{4}-/m);
    expect(metrics.stdout).toMatch(/pids\.current\s+1\b|pids\.current\s+\d+/);

    expect((await setup.ctr(["tasks", "kill", "-s", "SIGKILL", "sleeper"])).code).toBe(0);
    expect(await stopped("sleeper")).toBe(true);
    const removed = await setup.ctr(["tasks", "rm", "sleeper"]);
    expect(removed.stderr).toContain("task sleeper exit with non-zero exit code 137");
    expect((await setup.ctr(["containers", "rm", "sleeper"])).code).toBe(0);
    expect((await setup.ctr(["tasks", "kill", "sleeper"])).code).not.toBe(0);
  });

  test("all containers of a namespace share one shim process, which leaves once none is left", async () => {
    for (const id of ["g1", "g2", "g3"]) expect(await run(["-d", setup.image, id, "sleep", "1000"])).toMatchObject({ code: 0 });
    const addresses = new Set(
      ["g1", "g2", "g3"].map((id) => readFileSync(join(setup.daemon.state, "io.containerd.runtime.v2.task", namespace, id, "address"), "utf8")),
    );
    expect(addresses.size).toBe(1);
    const [address] = addresses;
    expect(address).toMatch(new RegExp(`^unix://${setup.base}/s/[0-9a-f]{64}$`));
    expect(servers()).toHaveLength(1);
    for (const id of ["g1", "g2", "g3"]) {
      await setup.ctr(["tasks", "kill", "-s", "SIGKILL", id]);
      await stopped(id);
      await setup.ctr(["tasks", "rm", id]);
      await setup.ctr(["containers", "rm", id]);
      if (id !== "g3") expect(servers()).toHaveLength(1);
    }
    expect(await waitFor(() => servers().length === 0)).toBe(true);
    expect(existsSync(address!.slice("unix://".length))).toBe(false);
    expect(readdirSync(join(setup.base, "s")).filter((name) => name.endsWith(".lock"))).toEqual([]);
  });

  test("a command that does not exist fails the create with runc's words and leaves nothing behind", async () => {
    const failed = await run(["--rm", setup.image, "missing", "/nonexistent"]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe("");
    const runcSays =
      'OCI runtime create failed: runc create failed: unable to start container process: exec: "/nonexistent": stat /nonexistent: no such file or directory: unknown\n';
    expect(failed.stderr).toBe(`ctr: failed to create shim task: ${runcSays}`);
    expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(join(namespace, "missing"));
    expect((await setup.ctr(["tasks", "ls", "-q"])).stdout).toBe("");
    await setup.ctr(["containers", "rm", "missing"]);
  });

  test("a user namespace: ctr run --uidmap/--gidmap runs as the mapped root, through a bundle that root may traverse", async () => {
    // The daemon's directories must let others through (0711, as /run/containerd); the test's is 0700.
    chmodSync(setup.base, 0o711);
    const ran = await run([
      "--rm",
      "--uidmap",
      "0:100000:65536",
      "--gidmap",
      "0:100000:65536",
      setup.image,
      "userns",
      "sh",
      "-c",
      "id; cat /proc/self/uid_map",
    ]);
    expect(ran.stderr).toBe("");
    expect(ran.code).toBe(0);
    expect(ran.stdout.split("\n")[0]).toBe("uid=0(root) gid=0(root) groups=0(root)");
    expect(ran.stdout.split("\n")[1]!.trim().split(/\s+/)).toEqual(["0", "100000", "65536"]);
  });

  test("--log-uri file:// appends the output to a file", async () => {
    const log = join(setup.base, "logs", "out.log");
    expect(await run(["--rm", "--log-uri", `file://${log}`, setup.image, "logged", "sh", "-c", "echo one; echo two >&2"])).toMatchObject({
      code: 0,
      stdout: "",
    });
    expect(readFileSync(log, "utf8")).toBe("one\ntwo\n");
  });

  test("a terminal: ctr run -t and ctr tasks exec -t get a pty and the exit code", async () => {
    const inTerminal = (command: string) => runCommand("script", ["-qec", command, "/dev/null"], { timeoutMs: 30_000 });
    const ctr = setup.session.args().reduce((line, arg) => `${line} ${arg}`, stockCtr!);
    const ran = await inTerminal(`${ctr} run -t --rm --runtime ${berthShimPath} ${setup.session.runFlags.join(" ")} ${setup.image} tty1 sh -c 'tty; exit 3'`);
    expect(ran.code).toBe(3);
    expect(ran.stdout).toContain("/dev/pts/0");
    expect(await run(["-d", setup.image, "tty2", "sleep", "1000"])).toMatchObject({ code: 0 });
    const execed = await inTerminal(`${ctr} tasks exec -t --exec-id t1 --fifo-dir ${fifoDir} tty2 sh -c 'tty; exit 4'`);
    expect(execed.code).toBe(4);
    expect(execed.stdout).toMatch(/\/dev\/pts\/\d+/);
    await setup.ctr(["tasks", "kill", "-s", "SIGKILL", "tty2"]);
    await stopped("tty2");
    await setup.ctr(["tasks", "rm", "tty2"]);
    await setup.ctr(["containers", "rm", "tty2"]);
  });

  test("ctr events shows the task topics in order, /tasks/oom before the exit of a container the OOM killer hit", async () => {
    const events = spawnTracked(stockCtr!, ["--address", setup.daemon.address, "events", `namespace==${namespace},topic~="/tasks/"`]);
    let output = "";
    events.stdout!.on("data", (chunk: Buffer) => (output += chunk));
    const topicsOf = (id: string) =>
      output
        .split("\n")
        .filter((line) => line.includes(`"container_id":"${id}"`))
        .map((line) => line.split(" ").find((word) => word.startsWith("/tasks/")));
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await run(["--rm", setup.image, "evented", "true"])).code).toBe(0);
      await waitFor(() => topicsOf("evented").length >= 4);
      expect(topicsOf("evented")).toEqual(["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"]);

      const hog = "x=$(busybox head -c 100000000 /dev/zero | busybox tr '\\0' a); echo survived";
      const oom = await run(["--rm", "--memory-limit", String(16 * 2 ** 20), setup.image, "hog", "sh", "-c", hog]);
      expect(oom).toMatchObject({ code: 137, stdout: "" });
      await waitFor(() => topicsOf("hog").length >= 5);
      expect(topicsOf("hog")).toEqual(["/tasks/create", "/tasks/start", "/tasks/oom", "/tasks/exit", "/tasks/delete"]);
    } finally {
      await stopProcess(events);
    }
  });

  test("the daemon killed with -9: tasks keep running; after a restart they are found, with the exit that happened meanwhile", async () => {
    for (const id of ["survivor", "victim"]) expect(await run(["-d", setup.image, id, "sleep", "1000"])).toMatchObject({ code: 0 });
    const victimPid = Number((await taskLine("victim")).split(/\s+/)[1]);
    const [shim] = servers();
    const restarted = setup.restart();
    process.kill(victimPid, "SIGKILL");
    await restarted;
    expect(servers()).toEqual([shim]);
    expect(await taskLine("survivor")).toMatch(/RUNNING$/);
    expect(await waitFor(async () => (await taskLine("victim")).endsWith("STOPPED"))).toBe(true);
    const after = await exec(["--exec-id", "after", "survivor", "echo", "still served"]);
    expect(after).toMatchObject({ code: 0, stdout: "still served\n" });
    const removedVictim = await setup.ctr(["tasks", "rm", "victim"]);
    expect(removedVictim.stderr, `${JSON.stringify(removedVictim)}\n${setup.daemon.logs().slice(-8000)}`).toContain("exit code 137");
    await setup.ctr(["containers", "rm", "victim"]);
    await setup.ctr(["tasks", "kill", "-s", "SIGKILL", "survivor"]);
    expect(await waitFor(async () => (await taskLine("survivor")).endsWith("STOPPED"))).toBe(true);
    await setup.ctr(["tasks", "rm", "survivor"]);
    await setup.ctr(["containers", "rm", "survivor"]);
  });
});
