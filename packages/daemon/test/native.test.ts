// berthd's native snapshotter: the conformance suite over gRPC, and Debian's stock ctr pulling and
// running on it, compared with a stock containerd's native snapshotter.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@berth/client";
import { describeSnapshotterConformance } from "@berth/snapshots/testsuite";
import {
  type CtrSession,
  type RunningDaemon,
  type RunningRegistry,
  buildMultiLayerImage,
  ctrSession,
  disposeTaskDaemon,
  pushTestImage,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const namespace = `berth-test-native-${process.pid}`;
let berthd: RunningDaemon;
let client: Client;
beforeAll(async () => {
  berthd = await startBerthd({ logLevel: "info" });
  client = await Client.connect({ address: berthd.address });
});
afterAll(async () => {
  client?.close();
  if (berthd !== undefined) await disposeTaskDaemon(berthd, [namespace]);
});

let run = 0;
describeSnapshotterConformance("gRPC proxy to berthd's native", async () => {
  const suite = `native-${++run}`;
  const lease = await client.leases.create({ namespace: suite }, { id: "", labels: {} });
  const root = mkdtempSync(join(tmpdir(), "berth-test-native-mounts-"));
  return {
    snapshotter: client.snapshotter("native"),
    context: { namespace: suite, lease: lease.id },
    root,
    usageIncludesParents: true,
    close: async () => {
      await client.leases.delete({ namespace: suite }, lease.id, true);
      rmSync(root, { recursive: true, force: true });
    },
  };
});

it("keeps its snapshots under root_path when configured, as containerd's", async () => {
  const elsewhere = mkdtempSync(join(tmpdir(), "berth-test-native-root-"));
  const configured = await startBerthd({ config: `version = 2\n[plugins."io.containerd.snapshotter.v1.native"]\nroot_path = ${JSON.stringify(elsewhere)}\n` });
  try {
    const other = await Client.connect({ address: configured.address });
    try {
      const [plugin] = await other.plugins(["id==native"]);
      expect(plugin?.exports).toEqual({ root: elsewhere });
      const lease = await other.leases.create({ namespace: "rooted" }, { id: "", labels: {} });
      const [mount] = await other.snapshotter("native").prepare({ namespace: "rooted", lease: lease.id }, "k", "");
      expect(mount?.source.startsWith(join(elsewhere, "snapshots"))).toBe(true);
    } finally {
      other.close();
    }
  } finally {
    await configured.cleanup();
    rmSync(elsewhere, { recursive: true, force: true });
  }
});

describe.skipIf(!stockContainerdInstalled)("stock ctr on berthd's native snapshotter", () => {
  let registry: RunningRegistry;
  let stock: RunningDaemon | undefined;
  let image: string;
  let ours: CtrSession;
  let theirs: CtrSession;

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(buildMultiLayerImage(), { url: registry.url, repository: "library/layers", tag: "latest" });
    image = `${registry.host}/library/layers:latest`;
    stock = await startStockContainerd();
    ours = ctrSession(berthd, namespace);
    theirs = ctrSession(stock!, namespace);
  });

  afterAll(async () => {
    await stock?.cleanup();
    await registry?.stop();
  });

  it("lists the plugin as stock containerd does", async () => {
    const line = async (session: CtrSession) => {
      const listed = await session.ctr("plugins", "ls", "id==native");
      expect(listed.code, listed.stderr).toBe(0);
      return listed.stdout;
    };
    expect(await line(ours)).toMatch(/^TYPE +ID +PLATFORMS +STATUS +\nio\.containerd\.snapshotter\.v1 +native +linux\/amd64 +ok +\n$/);
    expect(await line(ours)).toBe(await line(theirs));
  });

  it("pulls with --snapshotter native into the same snapshots as stock containerd, and runs on them", async () => {
    const snapshots = async (session: CtrSession) => {
      const listed = await session.ctr("snapshots", "--snapshotter", "native", "ls");
      expect(listed.code, listed.stderr).toBe(0);
      return listed.stdout;
    };
    for (const session of [ours, theirs]) {
      const pulled = await session.ctr("images", "pull", "--plain-http", "--snapshotter", "native", image);
      expect(pulled.code, pulled.stderr).toBe(0);
    }
    const listed = await snapshots(ours);
    expect(listed.trim().split("\n"), "a committed snapshot per layer").toHaveLength(1 + 4);
    expect(listed).toBe(await snapshots(theirs));

    const ran = await ours.ctr("run", "--snapshotter", "native", "--rm", ...ours.runFlags, image, "hi", "echo", "hi");
    expect(ran).toMatchObject({ code: 0, stdout: "hi\n" });
    const files = await ours.ctr("run", "--snapshotter", "native", "--rm", ...ours.runFlags, image, "cat", "cat", "/data/keep", "/data/new");
    expect(files).toMatchObject({ code: 0, stdout: "kept\nadded in layer three\n" });
    expect(await snapshots(ours), "the containers' snapshots went with them").toBe(listed);
  });
});
