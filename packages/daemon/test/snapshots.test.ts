import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf } from "@berth/api";
import { Client } from "@berth/client";
import { unmountAll } from "@berth/mount";
import { describeSnapshotterConformance } from "@berth/snapshots/testsuite";
import { type RunningDaemon, runCommand, startBerthd, startStockContainerd, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let berthd: RunningDaemon;
let client: Client;
beforeAll(async () => {
  berthd = await startBerthd();
  client = await Client.connect({ address: berthd.address });
});
afterAll(async () => {
  client?.close();
  await berthd?.cleanup();
});

let run = 0;
describeSnapshotterConformance("gRPC proxy to berthd's overlayfs", async () => {
  const namespace = `snapshots-${++run}`;
  // Under a lease, as clients work, so that collections after other tests' deletions keep these.
  const lease = await client.leases.create({ namespace }, { id: "", labels: {} });
  const root = mkdtempSync(join(tmpdir(), "berth-test-snapshots-"));
  return {
    snapshotter: client.snapshotter("overlayfs"),
    context: { namespace, lease: lease.id },
    root,
    close: async () => {
      await client.leases.delete({ namespace }, lease.id, true);
      rmSync(root, { recursive: true, force: true });
    },
  };
});

describe("snapshots in berthd", () => {
  it("refuses an unknown snapshotter by name, as containerd does", async () => {
    expect(
      kindOf(
        await client
          .snapshotter("zfs")
          .stat(client.context(), "x")
          .catch((e: unknown) => e),
      ),
    ).toBe("InvalidArgument");
    expect(
      kindOf(
        await client
          .snapshotter("")
          .stat(client.context(), "x")
          .catch((e: unknown) => e),
      ),
    ).toBe("InvalidArgument");
  });

  it("keeps nothing of a prepare under a lease that does not exist", async () => {
    const context = { namespace: "ghost-lease", lease: "no-such-lease" };
    expect(
      kindOf(
        await client
          .snapshotter()
          .prepare(context, "k", "")
          .catch((e: unknown) => e),
      ),
    ).toBe("NotFound");
    expect(
      kindOf(
        await client
          .snapshotter()
          .stat({ namespace: "ghost-lease" }, "k")
          .catch((e: unknown) => e),
      ),
    ).toBe("NotFound");
  });

  it("keeps each namespace's keys apart", async () => {
    await client.snapshotter().prepare({ namespace: "ks-a" }, "same", "", { "containerd.io/gc.root": "x" });
    await client.snapshotter().prepare({ namespace: "ks-b" }, "same", "", { "containerd.io/gc.root": "x" });
    const [a, b] = await Promise.all(["ks-a", "ks-b"].map((namespace) => client.snapshotter().mounts({ namespace }, "same")));
    expect(a![0]!.source).not.toBe(b![0]!.source);
    await client.snapshotter().remove({ namespace: "ks-a" }, "same");
    expect((await client.snapshotter().stat({ namespace: "ks-b" }, "same")).kind).toBe("active");
    await client.snapshotter().remove({ namespace: "ks-b" }, "same");
  });
});

describe.skipIf(!stockContainerdInstalled)("stock ctr snapshots against berthd, beside stock containerd", () => {
  let stock: RunningDaemon;
  let scratch: string;
  beforeAll(async () => {
    stock = (await startStockContainerd())!;
    scratch = mkdtempSync(join(tmpdir(), "berth-test-ctr-mounts-"));
  });
  afterAll(async () => {
    await unmountAll(join(scratch, "mnt")).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
    await stock?.cleanup();
  });

  /** Runs the printed mount(8) command, as a user would, and returns the mount point. */
  function mountPrinted(command: string): string {
    const target = join(scratch, "mnt");
    mkdirSync(target, { recursive: true });
    const args = command.trim().split(" ").slice(1);
    execFileSync("mount", args);
    return target;
  }

  it("prepares, mounts by hand, commits, stacks and lists as stock containerd does", async () => {
    const results: Record<string, string[]> = {};
    for (const daemon of [berthd, stock]) {
      const ctr = async (...args: string[]) => {
        const result = await runCommand(stockCtr!, ["--address", daemon.address, "-n", "handmade", "snapshots", ...args]);
        if (result.code !== 0) throw new Error(`ctr snapshots ${args.join(" ")}: ${result.stderr}`);
        return result.stdout;
      };
      const mountsOf = async (key: string) => ctr("mounts", join(scratch, "mnt"), key);
      await ctr("prepare", "k1");
      let target = mountPrinted(await mountsOf("k1"));
      writeFileSync(join(target, "hello"), "from the first layer");
      await unmountAll(target);
      await ctr("commit", "c1", "k1");
      await ctr("prepare", "k2", "c1");
      target = mountPrinted(await mountsOf("k2"));
      expect(readFileSync(join(target, "hello"), "utf8")).toBe("from the first layer");
      writeFileSync(join(target, "second"), "2");
      await unmountAll(target);
      await ctr("view", "v1", "c1");
      // Nothing references these snapshots: a GC that a removal below triggers (berthd's runs 100 ms
      // after one, containerd's on its own schedule) could take the rest before ctr removes them.
      for (const key of ["c1", "k2", "v1"]) await ctr("label", key, "containerd.io/gc.root=test");
      results[daemon.kind] = [await ctr("ls"), await ctr("tree"), (await ctr("usage")).replace(/\d+(\.\d+)? \w?i?B/g, "<size>")];
      const refused = await runCommand(stockCtr!, ["--address", daemon.address, "-n", "handmade", "snapshots", "rm", "c1"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("failed precondition");
      await ctr("rm", "k2", "v1");
      await ctr("rm", "c1");
      expect(await ctr("ls")).toBe("KEY PARENT KIND \n");
    }
    expect(results.berthd).toEqual(results.containerd);
  });
});
