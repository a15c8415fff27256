import { readFileSync, readdirSync } from "node:fs";

/**
 * What cgroup statistics depend on besides the cgroup's own files. The defaults read this host;
 * tests over fixture trees pass their own.
 */
export interface HostFacts {
  /** Huge page sizes in the kernel's file naming ("2MB", "1GB"), as hugetlb.<size>.* files use them. */
  readonly hugePageSizes: readonly string[];
  /** Block device names by "major:minor", for blkio entries (containerd's `/dev/<name>` from /proc/partitions). */
  devices(): ReadonlyMap<string, string>;
  /** USER_HZ: cpuacct.stat counts in these ticks per second. */
  readonly clockTicks: number;
}

/** "hugepages-2048kB" → "2MB", as the kernel names hugetlb files (and containerd's HugePageSizes). */
export function hugePageSizeName(directoryName: string): string | undefined {
  const match = /^hugepages-(\d+)kB$/.exec(directoryName);
  if (match === null) return undefined;
  const kb = Number(match[1]);
  if (kb >= 1 << 20) return `${kb >> 20}GB`;
  if (kb >= 1 << 10) return `${kb >> 10}MB`;
  return `${kb}KB`;
}

function readHugePageSizes(): string[] {
  try {
    return readdirSync("/sys/kernel/mm/hugepages")
      .sort()
      .flatMap((name) => hugePageSizeName(name) ?? []);
  } catch {
    return [];
  }
}

/** /proc/partitions: `major minor #blocks name` after a header line and a blank one. */
export function parsePartitions(text: string): Map<string, string> {
  const devices = new Map<string, string>();
  for (const line of text.split("\n").slice(2)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 4) continue;
    devices.set(`${fields[0]}:${fields[1]}`, `/dev/${fields[3]}`);
  }
  return devices;
}

let cachedSizes: string[] | undefined;

/** This host's facts. Page sizes are read once (they never change while up); partitions on each use. */
export function hostFacts(): HostFacts {
  cachedSizes ??= readHugePageSizes();
  return {
    hugePageSizes: cachedSizes,
    devices: () => parsePartitions(readFileSync("/proc/partitions", "latin1")),
    // USER_HZ is 100 on every architecture Linux exposes to user space through cgroup files.
    clockTicks: 100,
  };
}
