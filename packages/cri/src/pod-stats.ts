import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { failedPrecondition } from "@berth/api";
import type { criV1 } from "@berth/api/cri";
import type { CriContext } from "./context.js";
import { listContainerStats } from "./stats.js";
import { labelsMatch } from "./store.js";

const run = promisify(execFile);
const u64 = (value: number) => ({ value });
const cgroupRoot = "/sys/fs/cgroup";
const unified = !existsSync(join(cgroupRoot, "memory"));

const readNumber = async (path: string) => Number((await readFile(path, "utf8")).trim());

async function readStat(path: string): Promise<Map<string, number>> {
  const entries = (await readFile(path, "utf8")).split("\n").map((line) => line.split(" "));
  return new Map(entries.filter((e) => e.length === 2).map(([key, value]) => [key!, Number(value)]));
}

/** The pod's cgroup (cgroup_parent), v1 or v2: cpu and memory as containerd reads them. */
async function podCgroup(parent: string, timestamp: number): Promise<{ cpu: criV1.CpuUsage; memory: criV1.MemoryUsage }> {
  let cpuNanos: number;
  let usage: number;
  let inactiveFile: number;
  let rss: number;
  let faults: number;
  let majorFaults: number;
  if (unified) {
    const directory = join(cgroupRoot, parent);
    cpuNanos = ((await readStat(join(directory, "cpu.stat"))).get("usage_usec") ?? 0) * 1000;
    usage = await readNumber(join(directory, "memory.current"));
    const stat = await readStat(join(directory, "memory.stat"));
    [inactiveFile, rss, faults, majorFaults] = ["inactive_file", "anon", "pgfault", "pgmajfault"].map((key) => stat.get(key) ?? 0) as [
      number,
      number,
      number,
      number,
    ];
  } else {
    cpuNanos = await readNumber(join(cgroupRoot, "cpuacct", parent, "cpuacct.usage"));
    usage = await readNumber(join(cgroupRoot, "memory", parent, "memory.usage_in_bytes"));
    const stat = await readStat(join(cgroupRoot, "memory", parent, "memory.stat"));
    [inactiveFile, rss, faults, majorFaults] = ["total_inactive_file", "total_rss", "total_pgfault", "total_pgmajfault"].map((key) => stat.get(key) ?? 0) as [
      number,
      number,
      number,
      number,
    ];
  }
  const workingSet = Math.max(0, usage - inactiveFile);
  return {
    cpu: { timestamp, usageCoreNanoSeconds: u64(cpuNanos), usageNanoCores: u64(0) },
    memory: {
      timestamp,
      workingSetBytes: u64(workingSet),
      availableBytes: u64(0),
      usageBytes: u64(usage),
      rssBytes: u64(rss),
      pageFaults: u64(faults),
      majorPageFaults: u64(majorFaults),
    },
  };
}

/** eth0's counters inside the pod's network namespace. */
async function podNetwork(netns: string, timestamp: number): Promise<criV1.NetworkUsage | undefined> {
  if (netns === "") return undefined;
  try {
    const { stdout } = await run("nsenter", [`--net=${netns}`, "--", "ip", "-s", "-j", "link", "show", "eth0"]);
    const [link] = JSON.parse(stdout) as { ifname: string; stats64: { rx: { bytes: number; errors: number }; tx: { bytes: number; errors: number } } }[];
    if (link === undefined) return undefined;
    const usage = {
      name: link.ifname,
      rxBytes: u64(link.stats64.rx.bytes),
      rxErrors: u64(link.stats64.rx.errors),
      txBytes: u64(link.stats64.tx.bytes),
      txErrors: u64(link.stats64.tx.errors),
    };
    return { timestamp, defaultInterface: usage, interfaces: [usage] };
  } catch {
    return undefined;
  }
}

/** PodSandboxStats: the pod must be READY and have a cgroup_parent, whose cgroup holds the figures. */
export async function podSandboxStats(context: CriContext, id: string): Promise<criV1.PodSandboxStats> {
  const record = context.sandboxes.get(id);
  if (record.state !== "ready")
    throw failedPrecondition(`failed to get pod sandbox stats since sandbox container ${JSON.stringify(record.id)} is not in ready state`);
  const parent = record.config.linux?.cgroupParent ?? "";
  if (parent === "") throw new Error(`failed to get cgroup metrics for sandbox ${JSON.stringify(record.id)}: cgroupPath is empty`);
  const timestamp = Date.now() * 1e6;
  const { cpu, memory } = await podCgroup(parent, timestamp);
  const containers = await listContainerStats(context, { id: "", podSandboxId: record.id, labelSelector: {} });
  const ctx = context.client.context();
  let processes = 0;
  for (const container of context.containers.list().filter((c) => c.sandboxId === record.id && c.status.pid !== 0)) {
    processes += (await context.client.tasks.listPids(ctx, container.id).catch(() => [])).length;
  }
  return {
    attributes: { id: record.id, metadata: record.config.metadata, labels: record.config.labels, annotations: record.config.annotations },
    linux: { cpu, memory, network: await podNetwork(record.netnsPath, timestamp), process: { timestamp, processCount: u64(processes) }, containers },
    windows: undefined,
  };
}

export async function listPodSandboxStats(context: CriContext, filter: criV1.PodSandboxStatsFilter | undefined): Promise<criV1.PodSandboxStats[]> {
  let records = context.sandboxes.list().filter((r) => r.state === "ready" && labelsMatch(r.config.labels, filter?.labelSelector));
  if (filter?.id) records = records.filter((r) => r.id === context.sandboxes.find(filter.id)?.id);
  const stats: criV1.PodSandboxStats[] = [];
  for (const record of records) {
    try {
      stats.push(await podSandboxStats(context, record.id));
    } catch {
      // a pod without cgroup_parent has no pod-level figures; containerd leaves it out too
    }
  }
  return stats;
}
