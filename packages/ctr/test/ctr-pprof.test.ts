import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RunningDaemon, runCommand, startBerthd, startStockContainerd, stockContainerdInstalled, stockCtr, testDirectory } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));

/** stdout of `ctr pprof …` as bytes, with Berth's ctr or stock ctr. */
function pprof(tool: "berth" | "stock", args: string[]) {
  const [command, ...prefix] = tool === "berth" ? [process.execPath, berthCtr] : [stockCtr!];
  return spawnSync(command!, [...prefix, "pprof", ...args], { env: { PATH: process.env.PATH }, maxBuffer: 256 << 20 });
}

describe.skipIf(!stockContainerdInstalled)("ctr pprof against berthd's and containerd's [debug] address", () => {
  let scratch: string;
  let berthd: RunningDaemon;
  let containerd: RunningDaemon;
  beforeAll(async () => {
    scratch = testDirectory("ctr-pprof");
    berthd = await startBerthd({ config: `version = 2\n[debug]\n  address = ${JSON.stringify(join(scratch, "berthd-debug.sock"))}\n` });
    containerd = (await startStockContainerd({ debugAddress: join(scratch, "containerd-debug.sock") }))!;
  });
  afterAll(async () => {
    await berthd?.cleanup();
    await containerd?.cleanup();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("gets a V8 heap snapshot and CPU profile of berthd, with either ctr", () => {
    const socket = join(scratch, "berthd-debug.sock");
    for (const tool of ["berth", "stock"] as const) {
      const heap = pprof(tool, ["-d", socket, "heap"]);
      expect(heap.status).toBe(0);
      const snapshot = JSON.parse(heap.stdout.toString()) as { snapshot: { meta: { node_fields: string[] } }; nodes: number[] };
      expect(snapshot.snapshot.meta.node_fields).toContain("self_size");
      expect(snapshot.nodes.length).toBeGreaterThan(0);
      const profile = pprof(tool, ["--debug-socket", socket, "profile", "--seconds", "1s"]);
      expect(profile.status).toBe(0);
      const cpu = JSON.parse(profile.stdout.toString()) as { nodes: { callFrame: { functionName: string } }[]; startTime: number; endTime: number };
      expect(cpu.nodes[0]!.callFrame.functionName).toBe("(root)");
      expect(cpu.endTime - cpu.startTime).toBeGreaterThanOrEqual(1_000_000);
    }
    // Berth's ctr also takes the socket after the subcommand.
    expect(JSON.parse(pprof("berth", ["heap", "-d", socket]).stdout.toString())).toHaveProperty("snapshot");
  });

  it("fails as stock ctr for a Go-only profile on berthd and for a socket that is not there", () => {
    for (const args of [
      ["-d", join(scratch, "berthd-debug.sock"), "goroutines"],
      ["-d", join(scratch, "berthd-debug.sock"), "trace", "-s", "1s"],
      ["-d", join(scratch, "absent.sock"), "heap"],
    ]) {
      const [berth, stock] = [pprof("berth", args), pprof("stock", args)];
      expect([berth.stderr.toString(), berth.status]).toEqual([stock.stderr.toString(), stock.status]);
      expect(berth.status).toBe(1);
    }
  });

  it("writes out containerd's Go pprof output as stock ctr does", async () => {
    const socket = join(scratch, "containerd-debug.sock");
    for (const tool of ["berth", "stock"] as const) {
      const heap = pprof(tool, ["-d", socket, "heap"]);
      expect(heap.status).toBe(0);
      // Go's pprof protobuf, gzipped.
      expect([...heap.stdout.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
      const goroutines = pprof(tool, ["-d", socket, "goroutines"]);
      expect(goroutines.stdout.toString()).toMatch(/^goroutine \d+ \[running\]:\n/);
    }
    // The daemon answers on its gRPC socket as usual meanwhile.
    expect((await runCommand(stockCtr!, ["--address", containerd.address, "version"])).code).toBe(0);
  });
});
