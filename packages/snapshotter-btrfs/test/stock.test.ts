import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { unmountAll } from "@berth/mount";
import { BtrfsSnapshotter } from "@berth/snapshotter-btrfs";
import { runCommand, spawnTracked, startStockContainerd, stockContainerdInstalled, stockCtr, stopProcess } from "@berth/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type LoopBtrfs, makeLoopBtrfs, run, subvolumePaths } from "./loop-btrfs.js";

let fs: LoopBtrfs | undefined;

beforeAll(async () => {
  if (stockContainerdInstalled) fs = await makeLoopBtrfs();
});

afterAll(async () => {
  const base = fs?.base;
  await fs?.dispose();
  if (base !== undefined) expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(base);
});

interface Shape {
  readonly type: string;
  readonly source: string;
  readonly options: readonly string[];
}

/** Mounts with each subvolid replaced by its subvolume's path under `root`, so that two roots compare. */
function normalized(mounts: readonly Shape[], mnt: string, root: string): Shape[] {
  const paths = subvolumePaths(mnt);
  return mounts.map((mount) => ({
    ...mount,
    options: mount.options.map((option) => {
      const id = /^subvolid=([0-9]+)$/.exec(option)?.[1];
      const path = id === undefined ? undefined : paths.get(Number(id));
      return path === undefined ? option : `subvolid=<root>/${relative(root, join(mnt, path))}`;
    }),
  }));
}

/**
 * Stock containerd skips its btrfs plugin unless the plugin's root is btrfs, and testkit gives it
 * a root under the system's temp dir. So it is started once (making its directories), stopped,
 * given a directory of the test filesystem bound on the plugin root, and started again.
 */
it.skipIf(!stockContainerdInstalled)("returns exactly what stock containerd's btrfs snapshotter returns for the same sequence", async () => {
  if (fs === undefined) throw new Error("no btrfs filesystem");
  const first = await startStockContainerd();
  if (first === undefined) throw new Error("stock containerd did not start");
  const pluginRoot = join(first.root, "io.containerd.snapshotter.v1.btrfs");
  let daemon: ChildProcess | undefined;
  let stockRoot = "";
  const ours = new BtrfsSnapshotter(join(mkdtempSync(join(fs.mnt, "ours-")), "root"));
  try {
    await first.stop();
    mkdirSync(pluginRoot, { recursive: true });
    stockRoot = mkdtempSync(join(fs.mnt, "stock-"));
    run("mount", "--bind", stockRoot, pluginRoot);
    daemon = spawnTracked(first.process.spawnfile, ["--config", join(first.root, "..", "config.toml")]);
    let logs = "";
    daemon.stderr?.on("data", (chunk: Buffer) => (logs += chunk));
    const ctr = (...args: string[]) => runCommand(stockCtr!, ["--address", first.address, ...args]);
    for (let tries = 0; (await ctr("version")).code !== 0; tries++) {
      if (tries > 200 || daemon.exitCode !== null) throw new Error(`stock containerd did not come back:\n${logs}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Its collection at start-up would take the views, which ctr does not label as roots.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const snapshots = async (...args: string[]) => {
      const result = await ctr("snapshots", "--snapshotter", "btrfs", ...args);
      expect(result.code, `ctr snapshots ${args.join(" ")}: ${result.stderr}\n${logs}`).toBe(0);
      return result.stdout;
    };
    const context = {};
    const steps = [
      ["prepare", "k1", ""],
      ["view", "v0", ""],
      ["commit", "c1", "k1"],
      ["prepare", "k2", "c1"],
      ["view", "v1", "c1"],
      ["commit", "c2", "k2"],
      ["prepare", "k3", "c2"],
      ["view", "v2", "c2"],
    ] as const;
    for (const [step, a, b] of steps) {
      if (step === "commit") {
        await snapshots(step, a, b);
        await ours.commit(context, a, b);
        continue;
      }
      const stock = (JSON.parse(await snapshots(step, "--mounts", a, b)) as { Type: string; Source: string; Options: string[] }[]).map((m) => ({
        type: m.Type,
        source: m.Source,
        options: m.Options,
      }));
      const mine = normalized(await ours[step](context, a, b), fs.mnt, ours.root);
      expect(mine, `${step} ${a} ${b}`).toEqual(normalized(stock, fs.mnt, stockRoot));
      expect(mine[0]?.options[0], "the subvolid names the snapshot's subvolume").toMatch(/^subvolid=<root>\/(active|view)\/[0-9]+$/);
    }
  } finally {
    try {
      await ours.close();
      if (daemon !== undefined) await stopProcess(daemon);
      await unmountAll(pluginRoot);
    } finally {
      await first.cleanup();
    }
  }
});
