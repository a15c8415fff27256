import { readFileSync, readdirSync } from "node:fs";
import { Counter, Gauge, type Registry } from "./prom.js";

const pageSize = 4096;
const ticksPerSecond = 100;

/** Fields of /proc/self/stat after the command name: utime, stime, starttime, vsize, rss. */
function selfStat(): { cpuSeconds: number; startTicks: number; virtualBytes: number; residentBytes: number } {
  const text = readFileSync("/proc/self/stat", "latin1");
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // Field numbers of proc(5) less 3 (pid, comm and state are before the slice).
  return {
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / ticksPerSecond,
    startTicks: Number(fields[19]),
    virtualBytes: Number(fields[20]),
    residentBytes: Number(fields[21]) * pageSize,
  };
}

function bootTimeSeconds(): number {
  const line = readFileSync("/proc/stat", "latin1")
    .split("\n")
    .find((l) => l.startsWith("btime "));
  return Number(line?.split(" ")[1] ?? 0);
}

/** "Max open files  1024  1048576  files" → the soft limit; NaN when unlimited. */
function limit(name: string): number {
  const line = readFileSync("/proc/self/limits", "latin1")
    .split("\n")
    .find((l) => l.startsWith(name));
  const soft = line?.slice(name.length).trim().split(/\s+/)[0];
  return soft === undefined || soft === "unlimited" ? Number.NaN : Number(soft);
}

/**
 * The process metrics Go's client reports for containerd (same names), plus Node's heap, read at
 * scrape time. Hand-written because prom-client's default set starts an event-loop-delay sampler
 * and a GC observer that run whether or not anyone scrapes.
 */
export function registerProcessMetrics(registry: Registry): void {
  const boot = bootTimeSeconds();
  const registers = [registry];
  new Counter({
    name: "process_cpu_seconds_total",
    help: "Total user and system CPU time spent in seconds.",
    registers,
    collect() {
      this.reset();
      this.inc(selfStat().cpuSeconds);
    },
  });
  const gauge = (name: string, help: string, value: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value());
      },
    });
  gauge("process_open_fds", "Number of open file descriptors.", () => readdirSync("/proc/self/fd").length);
  gauge("process_max_fds", "Maximum number of open file descriptors.", () => limit("Max open files"));
  gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", () => selfStat().virtualBytes);
  gauge("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", () => {
    const max = limit("Max address space");
    return Number.isNaN(max) ? 2 ** 64 - 1 : max;
  });
  gauge("process_resident_memory_bytes", "Resident memory size in bytes.", () => selfStat().residentBytes);
  gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", () => boot + selfStat().startTicks / ticksPerSecond);
  gauge("nodejs_heap_size_total_bytes", "Process heap size from Node.js in bytes.", () => process.memoryUsage().heapTotal);
  gauge("nodejs_heap_size_used_bytes", "Process heap size used from Node.js in bytes.", () => process.memoryUsage().heapUsed);
  gauge("nodejs_external_memory_bytes", "Node.js external memory size in bytes.", () => process.memoryUsage().external);
}
