// Each of stock ctr 1.6's `run` and `containers create` options gives the same container record,
// spec byte for byte, from Berth's ctr as from stock ctr, through berthd and a stock containerd.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Container } from "@berth/api";
import { Client, defaultSpec } from "@berth/client";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  pushTestImage,
  reapRuntimeLeftovers,
  runCommand,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
  stockCtr,
  testDirectory,
  waitUntil,
  writeBusyboxRootfs,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));
const namespace = `berth-test-run-flags-${process.pid}`;
// A runtime no shim serves: `run` records the container, then fails to start a task, leaving the record to read.
const noRuntime = ["--runtime", "io.containerd.berthtestnone.v1"];
const hasAppArmor = existsSync("/sys/kernel/security/apparmor/profiles");
const hasNvidia = (process.env.PATH ?? "").split(":").some((directory) => existsSync(join(directory, "nvidia-container-cli")));

interface Row {
  readonly name: string;
  readonly command: "run" | "create";
  /** `{dir}` stands for the test's directory of input files. */
  readonly flags: readonly string[];
  /** The image reference is not given (`--config`, whose only argument is the id) or is a directory (`--rootfs`). */
  readonly ref?: "none" | "rootfs";
}

const rows: Row[] = [
  { name: "no option", command: "create", flags: [] },
  { name: "no option (run's cpu shares)", command: "run", flags: [] },
  { name: "--privileged", command: "create", flags: ["--privileged"] },
  { name: "--cap-add, --cap-drop", command: "create", flags: ["--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_CHOWN", "--cap-drop", "CAP_NET_RAW"] },
  { name: "--allow-new-privs", command: "create", flags: ["--allow-new-privs"] },
  { name: "--seccomp", command: "create", flags: ["--seccomp"] },
  { name: "--seccomp with CAP_SYS_ADMIN and CAP_BPF", command: "create", flags: ["--seccomp", "--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_BPF"] },
  { name: "--seccomp --privileged", command: "create", flags: ["--seccomp", "--privileged"] },
  { name: "--seccomp-profile", command: "create", flags: ["--seccomp", "--seccomp-profile", "{dir}/seccomp.json"] },
  { name: "--apparmor-profile", command: "create", flags: ["--apparmor-profile", "berth-test"] },
  { name: "--memory-limit", command: "create", flags: ["--memory-limit", "104857600"] },
  { name: "--cpu-quota, --cpu-period", command: "create", flags: ["--cpu-quota", "20000", "--cpu-period", "100000"] },
  { name: "--cpu-period alone", command: "create", flags: ["--cpu-period", "50000"] },
  { name: "--cpus", command: "run", flags: ["--cpus", "1.5"] },
  { name: "--cpu-shares", command: "run", flags: ["--cpu-shares", "512"] },
  { name: "--cpu-shares 0", command: "run", flags: ["--cpu-shares", "0"] },
  { name: "--cgroup", command: "run", flags: ["--cgroup", "/berth-test/flags"] },
  { name: "--cgroup empty", command: "run", flags: ["--cgroup="] },
  { name: "--device (a device)", command: "create", flags: ["--device", "/dev/null"] },
  { name: "--device (a directory)", command: "create", flags: ["--device", "{dir}/devices"] },
  { name: "--env-file", command: "create", flags: ["--env-file", "{dir}/env", "--env", "C=3"] },
  { name: "--annotation", command: "create", flags: ["--annotation", "a=b", "--annotation", "z=1=2", "--label", "l=1"] },
  { name: "--with-ns", command: "create", flags: ["--with-ns", "pid:/proc/1/ns/pid", "--with-ns", "cgroup:/proc/1/ns/cgroup"] },
  { name: "--rootfs-propagation", command: "create", flags: ["--rootfs-propagation", "rshared"] },
  { name: "--rdt-class", command: "create", flags: ["--rdt-class", "gold"] },
  { name: "--uidmap, --gidmap (the snapshot shifted)", command: "run", flags: ["--uidmap", "0:1000:65536", "--gidmap", "0:2000:65536"] },
  { name: "--uidmap, --gidmap --remap-labels", command: "run", flags: ["--uidmap", "0:1000:65536", "--gidmap", "0:2000:65536", "--remap-labels"] },
  { name: "--snapshotter-label", command: "create", flags: ["--snapshotter-label", "a=b", "--snapshotter-label", "c=d"] },
  { name: "--runtime-config-path", command: "create", flags: ["--runtime", "io.containerd.kata.v2", "--runtime-config-path", "/etc/kata/configuration.toml"] },
  { name: "--platform", command: "run", flags: ["--platform", "linux/amd64"] },
  { name: "--config", command: "create", flags: ["--config", "{dir}/config.json", "--label", "x=y"], ref: "none" },
  { name: "--rootfs", command: "create", flags: ["--rootfs", "--label", "x=y"], ref: "rootfs" },
  {
    name: "-t, --net-host, --read-only, --cwd with the new ones",
    command: "create",
    flags: ["-t", "--net-host", "--read-only", "--cwd", "/tmp", "--privileged", "--seccomp", "--memory-limit", "1000000"],
  },
];

/** Bad input: Berth's ctr fails as stock ctr does, with its words, and records nothing. */
const refusals: { name: string; command: "run" | "create"; flags: string[]; skip?: boolean }[] = [
  { name: "a capability without CAP_", command: "create", flags: ["--cap-add", "SYS_ADMIN"] },
  { name: "an annotation without =", command: "create", flags: ["--annotation", "c"] },
  { name: "--with-ns without a path", command: "create", flags: ["--with-ns", "pid"] },
  { name: "--with-ns with two colons", command: "create", flags: ["--with-ns", "pid:/a:b"] },
  { name: "--with-ns of an unknown type", command: "create", flags: ["--with-ns", "foo:/x"] },
  { name: "--seccomp-profile without --seccomp", command: "create", flags: ["--seccomp-profile", "{dir}/seccomp.json"] },
  { name: "a missing --seccomp-profile", command: "create", flags: ["--seccomp", "--seccomp-profile", "{dir}/nonexistent.json"] },
  { name: "a missing --env-file", command: "create", flags: ["--env-file", "{dir}/nonexistent"] },
  { name: "a missing --device", command: "create", flags: ["--device", "/dev/berth-test-nonexistent"] },
  { name: "a --device that is no device", command: "create", flags: ["--device", "{dir}/env"] },
  { name: "--apparmor-profile with --apparmor-default-profile", command: "create", flags: ["--apparmor-default-profile", "a", "--apparmor-profile", "b"] },
  { name: "--apparmor-default-profile without AppArmor", command: "create", flags: ["--apparmor-default-profile", "berth-test"], skip: hasAppArmor },
  { name: "--gpus without NVIDIA's nvidia-container-cli", command: "run", flags: ["--gpus", "0"], skip: hasNvidia },
  { name: "--cpus with --cpu-quota", command: "run", flags: ["--cpus", "1", "--cpu-quota", "1000"] },
];

describe.skipIf(!stockContainerdInstalled)("ctr run and containers create options, Berth's ctr beside stock ctr", () => {
  let registry: RunningRegistry;
  let containerd: RunningDaemon;
  let berthd: RunningDaemon;
  let image: string;
  let dir: string;
  const clients = new Map<RunningDaemon, Client>();

  const argv = (daemon: RunningDaemon, args: readonly string[]) => [
    "--address",
    daemon.address,
    "-n",
    namespace,
    ...args.map((arg) => arg.replaceAll("{dir}", dir)),
  ];
  // `--` ends node's options: node itself reads `--env-file` wherever it stands.
  const berth = (daemon: RunningDaemon, ...args: string[]) =>
    runCommand(process.execPath, ["--", berthCtr, ...argv(daemon, args)], { env: { PATH: process.env.PATH }, timeoutMs: 60_000 });
  const stock = (daemon: RunningDaemon, ...args: string[]) => runCommand(stockCtr!, argv(daemon, args), { timeoutMs: 60_000 });
  const timeless = (text: string) => text.replace(/time="[^"]+"/g, "");

  /** The command line for a row: `containers create` or `run` with a runtime nobody serves, then the image (or rootfs) and id. */
  const commandLine = (row: Pick<Row, "command" | "flags" | "ref">, id: string) => {
    const head = row.command === "run" ? ["run", ...noRuntime] : ["containers", "create"];
    const ref = row.ref === "none" ? [] : row.ref === "rootfs" ? [join(dir, "rootfs")] : [image];
    return [...head, ...row.flags, ...ref, id, ...(row.ref === "none" ? [] : ["sh"])];
  };

  /** The record as containerd keeps it, the id and namespace replaced; the spec as the bytes stored. */
  async function record(daemon: RunningDaemon, id: string) {
    const client = clients.get(daemon)!;
    const container: Container = await client.containers.get(client.context(), id);
    const anonymous = (text: string) => text.replaceAll(`/${namespace}/${id}`, "/NS/ID").replaceAll(`"${id}"`, '"ID"');
    const snapshot = container.snapshotKey === "" ? undefined : await client.snapshotter(container.snapshotter).stat(client.context(), container.snapshotKey);
    return {
      spec: anonymous(Buffer.from(container.spec!.value).toString()),
      specType: container.spec!.typeUrl,
      labels: container.labels,
      image: container.image,
      runtime: {
        name: container.runtime?.name,
        typeUrl: container.runtime?.options?.typeUrl,
        options: Buffer.from(container.runtime?.options?.value ?? []).toString("base64"),
      },
      snapshotter: container.snapshotter,
      snapshotKey: container.snapshotKey === id ? "ID" : container.snapshotKey,
      snapshot: snapshot && { parent: snapshot.parent, kind: snapshot.kind, labels: snapshot.labels },
    };
  }

  async function removeContainer(daemon: RunningDaemon, id: string): Promise<void> {
    await stock(daemon, "containers", "rm", id);
  }

  beforeAll(async () => {
    dir = testDirectory("run-flags");
    writeFileSync(join(dir, "env"), "A=1\n\n# not a variable\nB=2\r\nPATH=/x");
    writeFileSync(
      join(dir, "seccomp.json"),
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 },
          { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
        ],
      }),
    );
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({
        ociVersion: "1.0.2-dev",
        process: { user: { uid: 0, gid: 0 }, args: ["true"], cwd: "/" },
        root: { path: join(dir, "rootfs") },
        linux: { namespaces: [{ type: "pid" }, { type: "mount" }] },
      }),
    );
    mkdirSync(join(dir, "rootfs"));
    writeBusyboxRootfs(join(dir, "busybox"));
    const runnable = { ...defaultSpec(namespace, "configured"), root: { path: join(dir, "busybox") } };
    runnable.process!.args = ["/bin/busybox", "echo", "from a spec file"];
    runnable.process!.env = ["PATH=/bin"];
    writeFileSync(join(dir, "busybox.json"), JSON.stringify(runnable));
    // containerd's logging binary protocol: the output on fds 3 and 4, ready once fd 5 is closed (before anything inherits it); the query's value last.
    writeFileSync(join(dir, "logger.sh"), '#!/bin/sh\nexec 5>&-\nfor out; do :; done\ncat <&3 >>"$out" &\ncat <&4 >>"$out" &\nwait\n', { mode: 0o755 });
    // A directory of devices: /dev/null and /dev/zero seen through a bind mount would be the host's; a copy made with mknod is ours.
    mkdirSync(join(dir, "devices", "sub"), { recursive: true });
    for (const [name, minor] of [
      ["null", 3],
      ["sub/zero", 5],
    ] as const)
      expect((await runCommand("mknod", ["-m", "0640", join(dir, "devices", name), "c", "1", String(minor)])).code).toBe(0);
    writeFileSync(join(dir, "devices", "not-a-device"), "");
    registry = await startRegistry();
    await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
    image = `${registry.host}/library/busybox:latest`;
    [containerd, berthd] = await Promise.all([startStockContainerd().then((daemon) => daemon!), startBerthd()]);
    for (const daemon of [containerd, berthd]) {
      const pulled = await stock(daemon, "images", "pull", "--plain-http", image);
      expect(pulled.code, pulled.stderr).toBe(0);
      clients.set(daemon, await Client.connect({ address: daemon.address, namespace }));
    }
  });

  afterAll(async () => {
    for (const client of clients.values()) client.close();
    for (const daemon of [berthd, containerd]) {
      if (daemon === undefined) continue;
      await daemon.stop();
      await reapRuntimeLeftovers({ directory: join(daemon.root, ".."), runcRoots: [join(daemon.root, "..", "runc")], cgroups: [`/${namespace}`] });
      await daemon.cleanup();
    }
    await registry?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    // The stock shim makes runc's default state directory for the namespace even when told another root.
    try {
      rmdirSync(`/run/containerd/runc/${namespace}`);
    } catch {
      // not there, or not empty: not ours to remove
    }
  });

  for (const [index, row] of rows.entries()) {
    it(`${row.command} ${row.name}`, async () => {
      const id = `flags${index}`;
      const theirs = await stock(containerd, ...commandLine(row, id));
      expect(theirs.code === 0, theirs.stderr).toBe(row.command === "create");
      const expected = await record(containerd, id);
      await removeContainer(containerd, id);
      for (const daemon of [containerd, berthd]) {
        const ours = await berth(daemon, ...commandLine(row, id));
        if (daemon === containerd) expect([ours.code, timeless(ours.stderr)]).toEqual([theirs.code, timeless(theirs.stderr)]);
        else expect(ours.code === 0, ours.stderr).toBe(row.command === "create");
        expect(await record(daemon, id)).toEqual(expected);
        await removeContainer(daemon, id);
      }
    });
  }

  for (const [index, refusal] of refusals.entries()) {
    it.skipIf(refusal.skip === true)(`${refusal.command} refuses ${refusal.name} as stock ctr does`, async () => {
      // Stock ctr may leave the snapshot it prepared until containerd's next GC: each attempt has its own id.
      const theirs = await stock(containerd, ...commandLine(refusal, `refused${index}`));
      expect(theirs.code).not.toBe(0);
      for (const daemon of [containerd, berthd]) {
        const id = `refused${index}-${daemon.kind}`;
        const ours = await berth(daemon, ...commandLine(refusal, id));
        expect([ours.code, timeless(ours.stderr).replaceAll(id, `refused${index}`)]).toEqual([theirs.code, timeless(theirs.stderr)]);
        const client = clients.get(daemon)!;
        await expect(client.containers.get(client.context(), id)).rejects.toMatchObject({ kind: "NotFound" });
        await expect(client.snapshotter().stat(client.context(), id)).rejects.toMatchObject({ kind: "NotFound" });
      }
    });
  }

  it("runs and starts tasks with --pid-file and --log-uri (file://, binary://), and runs with --seccomp, --privileged and --uidmap, on both daemons", async () => {
    for (const daemon of [berthd, containerd]) {
      // runc's state and the FIFOs in the test's directories.
      const local = ["--runc-root", join(daemon.root, "..", "runc"), "--fifo-dir", join(dir, "fifo")];
      const log = join(dir, `${daemon.kind}.log`);
      const pidFile = join(dir, `${daemon.kind}.pid`);
      const logged = await berth(
        daemon,
        "run",
        "--rm",
        ...local,
        "--log-uri",
        `file://${log}`,
        "--pid-file",
        pidFile,
        image,
        "logged",
        "sh",
        "-c",
        "echo out; echo err >&2",
      );
      expect(logged, daemon.kind).toMatchObject({ code: 0, stdout: "", stderr: "" });
      // Seen once on a loaded machine: stderr's copy into the file landed just after `run --rm` returned.
      const logLines = () => readFileSync(log, "utf8").split("\n").sort();
      await waitUntil(`both streams in ${daemon.kind}'s file:// log`, async () => logLines().length === 3, 5_000).catch(() => undefined);
      expect(logLines(), daemon.kind).toEqual(["", "err", "out"]);
      expect(readFileSync(pidFile, "utf8")).toMatch(/^[1-9]\d*$/);
      expect(await berth(daemon, "containers", "create", ...local.slice(0, 2), image, "started", "sh", "-c", "echo started")).toMatchObject({ code: 0 });
      const started = await berth(daemon, "tasks", "start", ...local.slice(2), "--log-uri", `file://${log}.start`, "--pid-file", `${pidFile}.start`, "started");
      expect(started).toMatchObject({ code: 0, stdout: "", stderr: "" });
      expect(readFileSync(`${log}.start`, "utf8")).toBe("started\n");
      expect(readFileSync(`${pidFile}.start`, "utf8")).toMatch(/^[1-9]\d*$/);
      expect((await berth(daemon, "containers", "rm", "started")).code).toBe(0);
      if (daemon === containerd) {
        // The stock shim starts a logging binary from a binary:// URI (Berth's shim: another change): the URI reaches it whole.
        const binaryLog = join(dir, "binary.log");
        const viaBinary = await berth(
          daemon,
          "run",
          "--rm",
          ...local,
          "--log-uri",
          `binary://${dir}/logger.sh?out=${binaryLog}`,
          image,
          "binary",
          "echo",
          "through a binary",
        );
        expect(viaBinary, daemon.kind).toMatchObject({ code: 0, stdout: "", stderr: "" });
        expect(readFileSync(binaryLog, "utf8")).toBe("through a binary\n");
      }
      const confined = await berth(
        daemon,
        "run",
        "--rm",
        ...local,
        "--seccomp",
        "--seccomp-profile",
        "{dir}/seccomp.json",
        image,
        "confined",
        "sh",
        "-c",
        "mkdir /tmp/x || echo refused",
      );
      expect(confined.stdout, confined.stderr).toContain("refused");
      const privileged = await berth(daemon, "run", "--rm", ...local, "--privileged", image, "privileged", "cat", "/proc/self/status");
      const capabilities = (status: string) => /^CapEff:\s*(\S+)$/m.exec(status)?.[1];
      expect(capabilities(privileged.stdout), privileged.stderr).toBe(capabilities(readFileSync("/proc/self/status", "utf8")));
      // A root filesystem that is a directory of the host, and a whole spec from a file.
      const fromRootfs = await berth(daemon, "run", "--rm", ...local, "--rootfs", join(dir, "busybox"), "rootfs", "/bin/busybox", "echo", "from a directory");
      expect(fromRootfs, `${daemon.kind}: ${fromRootfs.stderr}`).toMatchObject({ code: 0, stdout: "from a directory\n" });
      const fromConfig = await berth(daemon, "run", "--rm", ...local, "--config", join(dir, "busybox.json"), "configured");
      expect(fromConfig, `${daemon.kind}: ${fromConfig.stderr}`).toMatchObject({ code: 0, stdout: "from a spec file\n" });
      // In a user namespace the image's files, shifted on the host, are root's again; the daemon's directory must let the mapped root through.
      chmodSync(join(daemon.root, ".."), 0o711);
      const mapped = await berth(
        daemon,
        "run",
        "--rm",
        ...local,
        "--uidmap",
        "0:100000:65536",
        "--gidmap",
        "0:100000:65536",
        image,
        "mapped",
        "sh",
        "-c",
        "cat /proc/self/uid_map; ls -ln /bin/busybox",
      );
      expect(mapped.stdout.split(/\s+/).slice(1, 7), mapped.stderr).toEqual(["0", "100000", "65536", "-rwxr-xr-x", "1", "0"]);
      expect((await berth(daemon, "containers", "ls", "-q")).stdout).toBe("");
    }
  });
});
