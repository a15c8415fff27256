import { type CallContext, bareTypeUrl } from "@berth/api";
import { cgroupsV1, cgroupsV2 } from "@berth/api/proto";
import type { criV1 } from "@berth/api/cri";
import type { CriContext } from "./context.js";
import type { ContainerRecord } from "./store.js";
import { labelsMatch } from "./store.js";

const u64 = (value: bigint | number) => ({ value: Number(value) });

/** The previous cpu sample per container, for usage_nano_cores. */
const previousCpu = new Map<string, { usage: number; at: number }>();

function cpuOf(id: string, usageNanos: number, timestamp: number): criV1.CpuUsage {
  const previous = previousCpu.get(id);
  previousCpu.set(id, { usage: usageNanos, at: timestamp });
  const rate = previous === undefined || timestamp <= previous.at ? 0 : ((usageNanos - previous.usage) / (timestamp - previous.at)) * 1e9;
  return { timestamp, usageCoreNanoSeconds: u64(usageNanos), usageNanoCores: u64(Math.max(0, Math.round(rate))) };
}

type Counter = bigint | undefined;

/** containerd's memory figures: the working set is usage less inactive file pages; available is what the limit leaves of it. */
function memoryOf(
  timestamp: number,
  usage: Counter,
  inactiveFile: Counter,
  limit: Counter,
  rss: Counter,
  faults: Counter,
  majorFaults: Counter,
): criV1.MemoryUsage {
  const used = Number(usage ?? 0n);
  const workingSet = Math.max(0, used - Number(inactiveFile ?? 0n));
  const ceiling = Number(limit ?? 0n);
  return {
    timestamp,
    workingSetBytes: u64(workingSet),
    availableBytes: u64(ceiling > 0 && ceiling <= 2 ** 62 ? Math.max(0, ceiling - workingSet) : 0),
    usageBytes: u64(used),
    rssBytes: u64(rss ?? 0n),
    pageFaults: u64(faults ?? 0n),
    majorPageFaults: u64(majorFaults ?? 0n),
  };
}

function statsOf(
  record: ContainerRecord,
  data: { typeUrl: string; value: Uint8Array } | undefined,
  timestamp: number,
  layer: criV1.FilesystemUsage,
): criV1.ContainerStats {
  const attributes = { id: record.id, metadata: record.config.metadata, labels: record.config.labels, annotations: record.config.annotations };
  const stats: criV1.ContainerStats = { attributes, cpu: undefined, memory: undefined, writableLayer: layer };
  if (data === undefined) return stats;
  const type = bareTypeUrl(data.typeUrl);
  if (type === "io.containerd.cgroups.v1.Metrics") {
    const metrics = cgroupsV1.Metrics.decode(data.value);
    stats.cpu = cpuOf(record.id, Number(metrics.cpu?.usage?.total ?? 0n), timestamp);
    const memory = metrics.memory;
    stats.memory = memoryOf(
      timestamp,
      memory?.usage?.usage,
      memory?.totalInactiveFile,
      memory?.usage?.limit,
      memory?.totalRss,
      memory?.totalPgFault,
      memory?.totalPgMajFault,
    );
  } else if (type === "io.containerd.cgroups.v2.Metrics") {
    const metrics = cgroupsV2.Metrics.decode(data.value);
    stats.cpu = cpuOf(record.id, Number(metrics.cpu?.usageUsec ?? 0n) * 1000, timestamp);
    const memory = metrics.memory;
    stats.memory = memoryOf(timestamp, memory?.usage, memory?.inactiveFile, memory?.usageLimit, memory?.anon, memory?.pgfault, memory?.pgmajfault);
  }
  return stats;
}

/** The container's snapshot, as the usage cache last saw it (zero before its first sample). */
async function writableLayer(context: CriContext, id: string): Promise<criV1.FilesystemUsage> {
  const sample = (await context.usage.samples()).get(id);
  return {
    timestamp: sample?.timestamp ?? Date.now() * 1e6,
    fsId: { mountpoint: context.images.snapshotterRoot },
    usedBytes: u64(sample?.size ?? 0),
    inodesUsed: u64(sample?.inodes ?? 0),
  };
}

async function metricsOf(context: CriContext, ctx: CallContext, filters: string[]) {
  const metrics = await context.client.tasks.metrics(ctx, filters);
  return new Map(metrics.map((m) => [m.id, m]));
}

/** ContainerStats: the container's task must report exactly one metric. */
export async function containerStats(context: CriContext, id: string): Promise<criV1.ContainerStats> {
  const record = context.containers.get(id);
  const metrics = await metricsOf(context, context.client.context(), [`id==${record.id}`]);
  const metric = metrics.get(record.id);
  if (metric === undefined) throw new Error(`failed to decode container metrics for ${JSON.stringify(record.id)}: unexpected metrics response: []`);
  return statsOf(record, metric.data, Date.now() * 1e6, await writableLayer(context, record.id));
}

export async function listContainerStats(context: CriContext, filter: criV1.ContainerStatsFilter | undefined): Promise<criV1.ContainerStats[]> {
  let records = context.containers.list();
  if (filter?.id) {
    const match = context.containers.find(filter.id);
    records = match === undefined ? [] : [match];
  }
  if (filter?.podSandboxId) {
    const sandbox = context.sandboxes.find(filter.podSandboxId);
    records = records.filter((r) => r.sandboxId === sandbox?.id);
  }
  records = records.filter((r) => labelsMatch(r.config.labels, filter?.labelSelector));
  const metrics = await metricsOf(context, context.client.context(), []);
  const now = Date.now() * 1e6;
  const stats: criV1.ContainerStats[] = [];
  for (const record of records) stats.push(statsOf(record, metrics.get(record.id)?.data, now, await writableLayer(context, record.id)));
  return stats;
}
