// Reading cgroup interface files. They live in memory (cgroupfs), so synchronous reads are cheaper
// than a thread-pool round trip per file, and a scrape reads some 25 files per container.
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";

const buffer = Buffer.allocUnsafe(64 * 1024);

/** open+read+close into one reused buffer: readFileSync's fstat and allocation cost a third more here. */
function readSmallFile(path: string): string {
  const fd = openSync(path, "r");
  try {
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) return buffer.toString("latin1", 0, length);
      length += read;
      if (length === buffer.length) return buffer.toString("latin1", 0, length) + readFileSync(fd, "latin1");
    }
  } finally {
    closeSync(fd);
  }
}

/** 2^64-1: what containerd reports for a cgroup v2 value of "max". */
export const maxUint64 = 0xffff_ffff_ffff_ffffn;

/** A file's text, or undefined when it does not exist (or is unsupported by this kernel). */
export function readOptional(directory: string, file: string): string | undefined {
  try {
    return readSmallFile(join(directory, file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENODEV" || code === "EOPNOTSUPP" || code === "ENOTSUP") return undefined;
    throw error;
  }
}

/**
 * An unsigned 64-bit value as containerd's cgroups library parses it: negative numbers (an unset
 * v1 limit can read -1) count as 0.
 */
export function parseUint(text: string, where: string): bigint {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return BigInt.asUintN(64, BigInt(trimmed));
  if (/^-\d+$/.test(trimmed)) return 0n;
  throw new Error(`${where}: ${JSON.stringify(trimmed)} is not an unsigned integer`);
}

/** A single-value file: a number, or "max" as 2^64-1; 0 when the file is absent. */
export function readUintOrMax(directory: string, file: string): bigint {
  const text = readOptional(directory, file);
  if (text === undefined) return 0n;
  const trimmed = text.trim();
  if (trimmed === "max") return maxUint64;
  return parseUint(trimmed, join(directory, file));
}

/** `key value` lines (memory.stat, cpu.stat, cpuacct.stat, memory.oom_control, memory.events, …). */
export function parseFlatKeyed(text: string, where: string): Map<string, bigint> {
  const values = new Map<string, bigint>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 2) throw new Error(`${where}: malformed line ${JSON.stringify(line)}`);
    values.set(fields[0]!, parseUint(fields[1]!, where));
  }
  return values;
}

export function readFlatKeyed(directory: string, file: string): Map<string, bigint> | undefined {
  const text = readOptional(directory, file);
  return text === undefined ? undefined : parseFlatKeyed(text, join(directory, file));
}

/** Fills `target`'s fields from `values` through a table of field ← key. */
export function assignFrom<T>(target: T, values: ReadonlyMap<string, bigint>, table: ReadonlyArray<readonly [keyof T, string]>): T {
  for (const [field, key] of table) (target as Record<keyof T, bigint>)[field] = values.get(key) ?? 0n;
  return target;
}

/** rdma.current / rdma.max lines: `mlx4_0 hca_handle=2 hca_object=2000` ("max" is 2^32-1). */
export function parseRdma(text: string | undefined): { device: string; hcaHandles: number; hcaObjects: number }[] {
  if (text === undefined) return [];
  const entries = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 3) continue;
    const entry = { device: fields[0]!, hcaHandles: 0, hcaObjects: 0 };
    for (const pair of fields.slice(1)) {
      const [key, raw] = pair.split("=");
      const value = raw === "max" ? 0xffff_ffff : Number.parseInt(raw ?? "", 10);
      if (!Number.isFinite(value)) continue;
      if (key === "hca_handle") entry.hcaHandles = value;
      else if (key === "hca_object") entry.hcaObjects = value;
    }
    entries.push(entry);
  }
  return entries;
}
