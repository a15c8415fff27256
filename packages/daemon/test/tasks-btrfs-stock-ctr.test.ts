// The #6 sequence with Debian's stock ctr against berthd on the btrfs snapshotter: berthd's btrfs
// root is a loop-mounted btrfs, and the containers' rootfs are btrfs subvolumes mounted from it.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  type CtrSession,
  type LoopBtrfs,
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  ctrSession,
  disposeTaskDaemon,
  makeLoopBtrfs,
  pushTestImage,
  startBerthd,
  startRegistry,
  stockContainerdInstalled,
  waitUntil,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const namespace = `berth-test-tasks-btrfs-${process.pid}`;

describe.skipIf(!stockContainerdInstalled)("stock ctr runs tasks through berthd with --snapshotter btrfs", () => {
  let registry: RunningRegistry;
  let btrfs: LoopBtrfs;
  let berthd: RunningDaemon;
  let session: CtrSession;
  let image: string;

  const bundles = () => {
    const directory = join(berthd.state, "io.containerd.runtime.v2.task", namespace);
    return existsSync(directory) ? readdirSync(directory) : [];
  };
  /** The btrfs snapshots ctr sees, as "KEY KIND". */
  const btrfsSnapshots = async () => {
    const listed = await session.ctr("snapshots", "--snapshotter", "btrfs", "ls");
    expect(listed.code, listed.stderr).toBe(0);
    return listed.stdout
      .split("\n")
      .slice(1)
      .filter(Boolean)
      .map((line) => {
        const fields = line.split(/\s+/);
        return `${fields[0]} ${fields.at(-1) === "" ? fields.at(-2) : fields.at(-1)}`;
      });
  };

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
    image = `${registry.host}/library/busybox:latest`;
    btrfs = await makeLoopBtrfs();
    berthd = await startBerthd({
      logLevel: "info",
      config: `version = 2\n[plugins."io.containerd.snapshotter.v1.btrfs"]\nroot_path = ${JSON.stringify(join(btrfs.mnt, "snapshots"))}\n`,
    });
    session = ctrSession(berthd, namespace);
    // Unpacked into the default snapshotter only: `ctr run --snapshotter btrfs` unpacks it again into btrfs.
    const pulled = await session.ctr("images", "pull", "--plain-http", image);
    expect(pulled.code, pulled.stderr).toBe(0);
  });

  afterAll(async () => {
    if (berthd !== undefined) {
      await session?.removeAll().catch(() => undefined);
      await disposeTaskDaemon(berthd, [namespace]);
    }
    await btrfs?.dispose();
    await registry?.stop();
  });

  it("run --rm prints hello and exits 0, leaving no task, container or bundle", async () => {
    const run = await session.ctr("run", "--snapshotter", "btrfs", "--rm", ...session.runFlags, image, "c1", "echo", "hello");
    expect(run).toMatchObject({ code: 0, stdout: "hello\n" });
    expect((await session.ctr("containers", "ls", "-q")).stdout).toBe("");
    expect(await session.taskStatuses()).toEqual({});
    expect(bundles()).toEqual([]);
    // The image's layer stays, committed in btrfs; the container's active snapshot is gone.
    expect(await btrfsSnapshots()).toEqual([expect.stringMatching(/^sha256:[0-9a-f]{64} Committed$/)]);
  });

  it("run -d on a btrfs subvolume, ls RUNNING, pause, resume, exec, metrics, kill, rm with 137, containers rm", async () => {
    const run = await session.ctr("run", "-d", "--snapshotter", "btrfs", ...session.runFlags, image, "c2", "sleep", "1000");
    expect(run.code, run.stderr).toBe(0);
    expect((await session.taskStatuses()).c2).toBe("RUNNING");

    // The rootfs is a btrfs mount of the loop device, not overlayfs.
    const rootfs = join(berthd.state, "io.containerd.runtime.v2.task", namespace, "c2", "rootfs");
    const mount = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .find((line) => line.split(" ")[1] === rootfs);
    expect(mount?.split(" ").slice(0, 3)).toEqual([btrfs.device, rootfs, "btrfs"]);
    expect(await btrfsSnapshots()).toContain("c2 Active");

    expect((await session.ctr("tasks", "pause", "c2")).code).toBe(0);
    expect((await session.taskStatuses()).c2).toBe("PAUSED");
    expect((await session.ctr("tasks", "resume", "c2")).code).toBe(0);
    expect((await session.taskStatuses()).c2).toBe("RUNNING");

    const exec = await session.ctr("tasks", "exec", "--fifo-dir", session.fifoDir, "--exec-id", "e1", "c2", "ls", "/");
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout.split("\n")).toEqual(expect.arrayContaining(["bin", "etc", "proc"]));
    const metrics = await session.ctr("tasks", "metrics", "c2");
    expect(metrics.code, metrics.stderr).toBe(0);
    expect(metrics.stdout).toMatch(/^ID\s+TIMESTAMP\s*\nc2\s+\S+/);

    expect((await session.ctr("tasks", "kill", "-s", "SIGKILL", "c2")).code).toBe(0);
    await waitUntil("c2 stopped", async () => (await session.taskStatuses()).c2 === "STOPPED");
    // ctr 1.6's `tasks rm` reports a non-zero exit as a warning and itself exits 0.
    const removed = await session.ctr("tasks", "rm", "c2");
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stderr).toContain("task c2 exit with non-zero exit code 137");
    expect(await session.taskStatuses()).toEqual({});
    expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(rootfs);

    expect((await session.ctr("containers", "rm", "c2")).code).toBe(0);
    expect(bundles()).toEqual([]);
    expect(await btrfsSnapshots()).not.toContain("c2 Active");
  });
});
