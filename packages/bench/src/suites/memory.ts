import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { isShimOf } from "@berth/testkit";

/** The resident set size of process `pid` in MB (VmRSS of /proc/<pid>/status). */
export async function residentMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match?.[1] === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly args: readonly string[];
  /** The /proc/<pid>/ns/pid link, e.g. "pid:[4026531836]". */
  readonly pidNamespace: string;
}

/** Every process visible now; those that exit while being read are left out. */
function processTable(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const args = readFileSync(`/proc/${name}/cmdline`, "utf8")
        .split("\0")
        .filter((arg) => arg !== "");
      entries.push({ pid: Number(name), ppid, args, pidNamespace: readlinkSync(`/proc/${name}/ns/pid`) });
    } catch {
      // gone meanwhile
    }
  }
  return entries;
}

export interface HelperProcess {
  readonly pid: number;
  /** The program's file name; for a Node program, its script's. */
  readonly command: string;
}

function commandName(args: readonly string[]): string {
  const name = basename(args[0] ?? "?");
  const script = name === "node" ? args.slice(1).find((arg) => !arg.startsWith("-")) : undefined;
  return script === undefined ? name : basename(script);
}

/**
 * Everything that runs for a daemon beside its containers: the daemon, its shims (started with
 * `-address <its socket>`, whoever their parent is now) and the descendants of both, less the
 * processes in another pid namespace than the daemon's (the containers' own, and runc's
 * `init` on its way into one).
 */
export function helperProcesses(daemonPid: number, address: string): HelperProcess[] {
  const table = processTable();
  const daemon = table.find((entry) => entry.pid === daemonPid);
  if (daemon === undefined) throw new Error(`daemon process ${daemonPid} is gone`);
  const children = new Map<number, ProcessEntry[]>();
  for (const entry of table) children.set(entry.ppid, [...(children.get(entry.ppid) ?? []), entry]);
  const found = new Map<number, ProcessEntry>();
  const add = (entry: ProcessEntry) => {
    if (found.has(entry.pid) || entry.pidNamespace !== daemon.pidNamespace) return;
    found.set(entry.pid, entry);
    for (const child of children.get(entry.pid) ?? []) add(child);
  };
  add(daemon);
  for (const entry of table) if (isShimOf(entry.args, address)) add(entry);
  return [...found.values()].map(({ pid, args }) => ({ pid, command: commandName(args) }));
}

export interface MemoryTotal {
  readonly processes: number;
  /** Σ VmRSS (/proc/<pid>/status): pages shared between the processes count once per process. */
  readonly rssKb: number;
  /** Σ Pss (/proc/<pid>/smaps_rollup): each shared page is split between the processes sharing it. */
  readonly pssKb: number;
}

const kilobytes = (text: string, field: string): number => {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
  if (match?.[1] === undefined) throw new Error(`no ${field}`);
  return Number(match[1]);
};

/** The summed memory of `pids`; processes that exited meanwhile count as nothing. */
export async function memoryOf(pids: readonly number[]): Promise<MemoryTotal> {
  let processes = 0;
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of pids) {
    try {
      const [status, rollup] = await Promise.all([readFile(`/proc/${pid}/status`, "utf8"), readFile(`/proc/${pid}/smaps_rollup`, "utf8")]);
      rssKb += kilobytes(status, "VmRSS");
      pssKb += kilobytes(rollup, "Pss");
      processes++;
    } catch {
      // gone meanwhile
    }
  }
  return { processes, rssKb, pssKb };
}

/**
 * The spare shim servers a daemon keeps started ahead of need (Berth's shim, its `spare` action:
 * children of the daemon started with `-address <its socket>` whose last arguments say so).
 */
export function spareShimsOf(daemonPid: number, address: string): number[] {
  return processTable()
    .filter((entry) => entry.ppid === daemonPid && isShimOf(entry.args, address) && entry.args.includes("spare"))
    .map(({ pid }) => pid);
}
