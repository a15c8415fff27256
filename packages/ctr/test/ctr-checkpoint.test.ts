// Checkpoint and restore, and `ctr shim`, with Debian's stock ctr and Berth's ctr, through berthd
// (Berth's shim and the stock shim) and a stock containerd. Everything up to CRIU runs for real:
// the content and image records, runc's checkpoint and restore, and CRIU's failure coming back.
// Where the kernel refuses what CRIU needs (`criu check` fails), the same steps fail the same way
// on stock containerd, which is shown; the test that needs a working CRIU says why it is skipped.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkpointMediaTypes } from "@berth/api";
import { google_protobuf_any } from "@berth/api/proto";
import { Client, withLease } from "@berth/client";
import { writeBlob } from "@berth/content";
import {
  type CtrSession,
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  ctrSession,
  disposeTaskDaemon,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
  tar,
  waitUntil,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));
const namespace = `berth-test-checkpoint-${process.pid}`;
const stockShimConfig = `version = 2\n[plugins."io.containerd.runtime.v2.task".shims]\n"io.containerd.runc.v2" = "containerd-shim-runc-v2"\n`;

/** Whether CRIU can work on this kernel, and if not its own words why. */
const criu = (() => {
  const checked = spawnSync("criu", ["check"], { encoding: "utf8" });
  if (checked.error !== undefined) return { works: false, error: `criu is not installed (${checked.error.message})` };
  const lines = `${checked.stdout}${checked.stderr}`.trim().split("\n");
  return { works: checked.status === 0, error: lines.find((line) => line.startsWith("Error")) ?? lines.at(-1) ?? "" };
})();
const criuSkip = `criu check fails on this kernel (${criu.error}), and stock containerd cannot checkpoint here either (shown by the tests before)`;

const daemons = [
  { name: "berthd with Berth's shim", start: () => startBerthd(), berthShim: true },
  { name: "berthd with the stock shim", start: () => startBerthd({ config: stockShimConfig }), berthShim: false },
  { name: "stock containerd", start: () => startStockContainerd(), berthShim: false },
];

describe.skipIf(!stockContainerdInstalled).each(daemons)("checkpoint, restore and ctr shim through $name", ({ start, berthShim }) => {
  let registry: RunningRegistry;
  let daemon: RunningDaemon;
  let stock: CtrSession;
  let client: Client;
  let image: string;
  let base: string;

  const berth = (...args: string[]) => runCommand(process.execPath, [berthCtr, ...stock.args(...args)], { env: { PATH: process.env.PATH }, timeoutMs: 60_000 });
  const both = async (...args: string[]) => ({ stock: await stock.ctr(...args), berth: await berth(...args) });
  const bundleOf = (id: string) => join(daemon.state, "io.containerd.runtime.v2.task", namespace, id);
  const criuFailure = (id: string) =>
    `ctr: runc did not terminate successfully: exit status 1: criu failed: type DUMP errno 0 path= ${bundleOf(id)}/criu-dump.log: unknown\n`;
  const imageNames = async () => (await stock.ctr("images", "ls", "-q")).stdout.split("\n").filter(Boolean);
  const indexOf = async (ref: string) => {
    const target = (await client.images.get(client.context(), ref)).target;
    return JSON.parse((await stock.ctr("content", "get", target.digest)).stdout) as {
      manifests: { mediaType: string; digest: string; platform?: unknown }[];
      annotations?: Record<string, string>;
    };
  };

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
    image = `${registry.host}/library/busybox:latest`;
    daemon = (await start())!;
    base = join(daemon.root, "..");
    stock = ctrSession(daemon, namespace);
    mkdirSync(stock.fifoDir, { recursive: true });
    client = await Client.connect({ address: daemon.address, namespace });
    expect((await stock.ctr("images", "pull", "--plain-http", image)).code).toBe(0);
    // A counter, and a file only its read-write layer has.
    const run = await stock.ctr("run", "-d", ...stock.runFlags, image, "c1", "sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /counter; sleep 0.2; done");
    expect(run.code, run.stderr).toBe(0);
    const marked = await stock.ctr("tasks", "exec", "--fifo-dir", stock.fifoDir, "--exec-id", "mark", "c1", "sh", "-c", "echo marked > /marker");
    expect(marked.code, marked.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    if (daemon !== undefined) {
      await stock.removeAll().catch(() => undefined);
      await disposeTaskDaemon(daemon, [namespace]);
    }
    await registry?.stop();
  });

  it.skipIf(criu.works)(
    "tasks checkpoint: runc checkpoint runs, CRIU's failure comes back as containerd's, the task runs on and no image is made",
    async () => {
      const failed = await both("tasks", "checkpoint", "c1");
      expect(failed.stock).toMatchObject({ code: 1, stdout: "", stderr: criuFailure("c1") });
      expect(failed.berth).toMatchObject({ code: 1, stdout: "", stderr: criuFailure("c1") });
      // CRIU's own log is kept in the bundle, and its work directory is gone.
      expect(readFileSync(join(bundleOf("c1"), "criu-dump.log"), "utf8")).toContain("Error");
      expect(existsSync(join(bundleOf("c1"), "work", "criu-work"))).toBe(false);
      expect(await stock.taskStatuses()).toEqual({ c1: "RUNNING" });
      expect(await imageNames()).toEqual([image]);

      // --image-path and --work-path reach runc: CRIU logs into the work path, which is kept.
      for (const [name, ctr] of [["stock", stock.ctr] as const, ["berth", berth] as const]) {
        const work = join(base, `work-${name}`);
        const given = await ctr("tasks", "checkpoint", "--image-path", join(base, `image-${name}`), "--work-path", work, "c1");
        expect(given).toMatchObject({ code: 1, stderr: criuFailure("c1") });
        expect(readFileSync(join(work, "dump.log"), "utf8")).toContain("Error");
      }
      expect(await stock.taskStatuses()).toEqual({ c1: "RUNNING" });

      const missing = await both("tasks", "checkpoint", "nosuch");
      expect(missing.berth).toEqual(missing.stock);
    },
  );

  it("containers checkpoint --rw --image records containerd's index (annotations, runtime options, image, rw layer); --task fails as CRIU does", async () => {
    const made = {
      stock: await stock.ctr("containers", "checkpoint", "--rw", "--image", "c1", "ck-rw"),
      berth: await berth("containers", "checkpoint", "--rw", "--image", "c1", "ck-rw-berth"),
    };
    expect(made.stock).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(made.berth).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const again = await both("containers", "checkpoint", "--rw", "c1", "ck-rw");
    expect(again.berth).toEqual(again.stock);
    expect(await stock.taskStatuses()).toEqual({ c1: "RUNNING" });

    const [byStock, byBerth] = [await indexOf("ck-rw"), await indexOf("ck-rw-berth")];
    expect(byBerth.annotations).toEqual(byStock.annotations);
    expect(byBerth.annotations).toMatchObject({
      "io.containerd.checkpoint.runtime": "io.containerd.runc.v2",
      "io.containerd.checkpoint.snapshotter": "overlayfs",
      "org.opencontainers.image.ref.name": image,
    });
    const shape = (index: typeof byStock) => index.manifests.map((m) => ({ mediaType: m.mediaType, platform: m.platform }));
    expect(shape(byBerth)).toEqual(shape(byStock));
    expect(shape(byBerth).map((m) => m.mediaType)).toEqual([
      checkpointMediaTypes.runtimeOptions,
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.oci.image.layer.v1.tar+gzip",
    ]);
    // The same runtime options and image; the rw layer holds the container's own files.
    expect(byBerth.manifests.slice(0, 2)).toEqual(byStock.manifests.slice(0, 2));
    const listed = (await stock.ctr("images", "ls")).stdout.split("\n").filter((line) => line.startsWith("ck-rw"));
    expect(
      listed.map((line) =>
        line
          .trim()
          .split(/\s+/)
          .filter((_, i) => i !== 0 && i !== 2 && i !== 3 && i !== 4),
      ),
    ).toEqual([
      ["application/vnd.oci.image.index.v1+json", "linux/amd64", "-"],
      ["application/vnd.oci.image.index.v1+json", "linux/amd64", "-"],
    ]);

    if (!criu.works) {
      const task = await both("containers", "checkpoint", "--task", "c1", "ck-task");
      expect(task.stock).toMatchObject({ code: 1, stderr: criuFailure("c1") });
      expect(task.berth).toMatchObject({ code: 1, stderr: criuFailure("c1") });
      expect((await imageNames()).filter((name) => name === "ck-task")).toEqual([]);
      expect(await stock.taskStatuses()).toEqual({ c1: "RUNNING" });
    }

    // A checkpoint without the task's config cannot be restored, as containerd's client says.
    // Stock ctr leaves the snapshot it prepared to its lease's collection, which containerd may run after ctr exits: Berth's ctr asks once it ran.
    const restoredByStock = await stock.ctr("containers", "restore", "c2", "ck-rw");
    await waitUntil("the failed restore's snapshot collected", async () =>
      (await stock.ctr("snapshots", "ls")).stdout.split("\n").every((line) => line.split(/\s+/)[0] !== "c2"),
    );
    const restoredByBerth = await berth("containers", "restore", "c2", "ck-rw");
    expect(restoredByStock).toMatchObject({ code: 1, stderr: "ctr: media type not found\n" });
    expect(restoredByBerth).toMatchObject({ code: 1, stderr: "ctr: media type not found\n" });
    expect((await stock.ctr("containers", "ls", "-q")).stdout).toBe("c1\n");
  });

  it("containers restore makes the container again from a checkpoint with the task's config (--rw with its files); --live reaches runc restore", async () => {
    // The blobs Tasks.Checkpoint writes, added to a checkpoint made above: the spec, and a CRIU
    // image. Written under a lease, so that no garbage collection takes them before the image holds them.
    const container = await client.containers.get(client.context(), "c1");
    const index = await indexOf("ck-rw");
    await withLease(client, async (context) => {
      const spec = await writeBlob(client.content, context, "test-checkpoint-spec", google_protobuf_any.Any.encode(container.spec!).finish());
      const criuImage = await writeBlob(
        client.content,
        context,
        "test-checkpoint-criu",
        tar([
          // What runc reads itself before it hands the image to CRIU.
          { path: "descriptors.json", type: "file", content: JSON.stringify(["/dev/null", "/dev/null", "/dev/null"]) },
          { path: "inventory.img", type: "file", content: "not a CRIU image" },
        ]),
      );
      const platform = { architecture: "amd64", os: "linux" };
      const manifests = [
        ...index.manifests,
        { mediaType: checkpointMediaTypes.criu, ...criuImage, platform },
        { mediaType: checkpointMediaTypes.config, ...spec, platform },
      ];
      const labels = Object.fromEntries(manifests.map((m, i) => [`containerd.io/gc.ref.content.${i}`, m.digest]));
      const target = await writeBlob(
        client.content,
        context,
        "test-checkpoint-index",
        Buffer.from(JSON.stringify({ schemaVersion: 2, manifests, annotations: index.annotations })),
        { labels },
      );
      await client.images.create(context, {
        name: "ck-full",
        labels: {},
        target: { mediaType: "application/vnd.oci.image.index.v1+json", ...target, annotations: {} },
      });
    });

    const restored = await berth("containers", "restore", "--rw", "--fifo-dir", stock.fifoDir, "c2", "ck-full");
    expect(restored, restored.stderr).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const info = JSON.parse((await stock.ctr("containers", "info", "c2")).stdout) as {
      Image: string;
      Runtime: { Name: string };
      Spec: unknown;
      Snapshotter: string;
      SnapshotKey: string;
    };
    const original = JSON.parse((await stock.ctr("containers", "info", "c1")).stdout) as typeof info;
    expect(info).toMatchObject({ Image: image, Runtime: { Name: "io.containerd.runc.v2" }, Snapshotter: "overlayfs", SnapshotKey: "c2", Spec: original.Spec });
    await waitUntil("c2 running", async () => (await stock.taskStatuses()).c2 === "RUNNING");
    const marker = await stock.ctr("tasks", "exec", "--fifo-dir", stock.fifoDir, "--exec-id", "m2", "c2", "cat", "/marker");
    expect(marker).toMatchObject({ code: 0, stdout: "marked\n" });

    // --live: the daemon unpacks the CRIU image and the shim runs `runc restore` at Start.
    const live = await berth("containers", "restore", "--live", "--fifo-dir", stock.fifoDir, "c3", "ck-full");
    if (!criu.works) {
      expect(live).toMatchObject({
        code: 1,
        stderr: `ctr: OCI runtime restore failed: criu failed: type RESTORE errno 0\nlog file: ${bundleOf("c3")}/work/restore.log: unknown\n`,
      });
    }
    expect(Object.keys(await stock.taskStatuses()).sort()).toEqual(["c1", "c2"]);
    const missingConfig = await berth("containers", "restore", "--live", "c4", "ck-rw");
    expect(missingConfig).toMatchObject({ code: 1, stderr: "ctr: media type not found\n" });
  });

  it("restores a checkpointed counter that then continues counting", async (ctx) => {
    if (!criu.works) ctx.skip(criuSkip);
    const checkpointed = await stock.ctr("containers", "checkpoint", "--task", "--rw", "c1", "ck-live");
    expect(checkpointed.code, checkpointed.stderr).toBe(0);
    const before = Number((await stock.ctr("tasks", "exec", "--fifo-dir", stock.fifoDir, "--exec-id", "r1", "c1", "cat", "/counter")).stdout);
    const restored = await berth("containers", "restore", "--live", "--rw", "--fifo-dir", stock.fifoDir, "c5", "ck-live");
    expect(restored.code, restored.stderr).toBe(0);
    await waitUntil(
      "the restored counter to pass the checkpoint",
      async () =>
        Number((await stock.ctr("tasks", "exec", "--fifo-dir", stock.fifoDir, "--exec-id", `r${Date.now()}`, "c5", "cat", "/counter")).stdout) > before,
    );
  });

  it("ctr shim state talks to the container's shim over ttrpc and prints its State as stock ctr does", async () => {
    const pid = Number(
      (await stock.ctr("tasks", "ls")).stdout
        .split("\n")
        .find((line) => line.startsWith("c1 "))!
        .split(/\s+/)[1],
    );
    const state = await both("shim", "--id", "c1", "state");
    expect(state.berth.code, state.berth.stderr).toBe(0);
    const printed = JSON.parse(state.berth.stdout) as Record<string, unknown>;
    expect(Object.keys(printed)).toEqual(["id", "bundle", "pid", "status", "stdin", "stdout", "stderr", "exited_at"]);
    expect(printed).toMatchObject({ id: "c1", bundle: bundleOf("c1"), pid, status: 2, exited_at: "0001-01-01T00:00:00Z" });
    // Stock ctr looks only where containerd's shims listen; Berth's shim listens beside its daemon.
    if (berthShim) expect(state.stock).toMatchObject({ code: 1, stderr: "ctr: fail to connect to container c1's shim\n" });
    else expect(state.berth.stdout).toBe(state.stock.stdout);
    const noId = await both("shim", "state");
    expect(noId.berth).toMatchObject({ code: 1, stderr: "ctr: container id must be specified\n" });
    expect(noId.stock).toMatchObject({ code: 1, stderr: "ctr: container id must be specified\n" });
  });

  it("ctr shim start starts a created task through its shim, shim delete refuses a running one as the shim does, shim exec runs a process", async () => {
    const created = await berth("containers", "create", "--runc-root", stock.runcRoot, image, "c6", "sleep", "1000");
    expect(created.code, created.stderr).toBe(0);
    const { createTask } = await import("@berth/client");
    await createTask(client, client.context(), await client.containers.get(client.context(), "c6"), { stdin: "", stdout: "", stderr: "", terminal: false });
    expect((await stock.taskStatuses()).c6).toBe("CREATED");
    const started = await berth("shim", "--id", "c6", "start", "c6");
    expect(started).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect((await stock.taskStatuses()).c6).toBe("RUNNING");
    // The shim's own error, printed raw as stock ctr prints it.
    const refused = await both("shim", "--id", "c6", "delete", "c6");
    expect(refused.berth.code).toBe(1);
    expect(refused.berth.stderr).toMatch(/^ctr: rpc error: code = (Unknown|FailedPrecondition) desc = cannot delete a running process.*\n$/);
    if (!berthShim) expect(refused.berth).toEqual(refused.stock);
    expect((await stock.taskStatuses()).c6).toBe("RUNNING");

    // shim exec adds a process (a runtime-spec Process from --spec) and starts it.
    const processFile = join(base, "process.json");
    writeFileSync(
      processFile,
      JSON.stringify({ args: ["sh", "-c", "echo from-shim-exec > /exec-ran"], cwd: "/", env: ["PATH=/bin"], user: { uid: 0, gid: 0 } }),
    );
    const executed = await berth("shim", "--id", "c6", "exec", "--spec", processFile, "e1");
    expect(executed.code, executed.stderr).toBe(0);
    expect(executed.stdout).toMatch(/^exec running with pid \d+\n$/);
    await waitUntil(
      "the exec's file",
      async () =>
        (await stock.ctr("tasks", "exec", "--fifo-dir", stock.fifoDir, "--exec-id", `x${Date.now()}`, "c6", "cat", "/exec-ran")).stdout === "from-shim-exec\n",
    );
    expect(await berth("shim", "--id", "c6", "exec", "--spec", processFile)).toMatchObject({ code: 1, stderr: "ctr: exec id must be provided\n" });
  });

  it("refuses checkpoint options of another type and a checkpoint of another media type before anything is written", async () => {
    const { createTask } = await import("@berth/client");
    const { isKind, kindOf } = await import("@berth/api");
    const context = client.context();
    const contentBefore = (await stock.ctr("content", "ls", "-q")).stdout;
    const wrongOptions = await client.tasks
      .checkpoint(context, "c1", { typeUrl: "containerd.runc.v1.Options", value: Buffer.alloc(0) })
      .catch((error: Error) => error);
    const created = await berth("containers", "create", "--runc-root", stock.runcRoot, image, "c7", "true");
    expect(created.code, created.stderr).toBe(0);
    const layer = (await client.images.get(context, image)).target;
    const wrongType = await createTask(
      client,
      context,
      await client.containers.get(context, "c7"),
      { stdin: "", stdout: "", stderr: "", terminal: false },
      { checkpoint: layer },
    ).catch((error: Error) => error);
    // containerd's words; berthd gives them the kind of bad input, where containerd answers Unknown.
    expect((wrongOptions as Error).message).toContain("invalid task checkpoint option for io.containerd.runc.v2");
    expect((wrongType as Error).message).toContain(`unsupported checkpoint type "${layer.mediaType}"`);
    const expectedKind = daemon.kind === "berthd" ? "InvalidArgument" : "Unknown";
    expect([kindOf(wrongOptions), kindOf(wrongType)]).toEqual([expectedKind, expectedKind]);
    expect(isKind(wrongOptions, expectedKind)).toBe(true);
    expect((await stock.ctr("content", "ls", "-q")).stdout).toBe(contentBefore);
    expect((await stock.taskStatuses()).c7).toBeUndefined();
    expect((await stock.taskStatuses()).c1).toBe("RUNNING");
  });
});
