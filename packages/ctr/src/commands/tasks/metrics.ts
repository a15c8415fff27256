import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import type { cgroupsV1, cgroupsV2 } from "@berth/api/proto";
import { aliases, CtrCommand, tabwriter } from "@berth/cli-kit";
import { goJson, goTimeString } from "../../format/go-values.js";
import { loadTask, taskTopics } from "./shared.js";

const integer = (value: bigint | number) => String(value);

function cgroupV1Rows(data: cgroupsV1.Metrics): string[] {
  const rows: string[] = [];
  if (data.memory) {
    rows.push(
      `memory.usage_in_bytes\t${integer(data.memory.usage?.usage ?? 0)}\t`,
      `memory.limit_in_bytes\t${integer(data.memory.usage?.limit ?? 0)}\t`,
      `memory.stat.cache\t${integer(data.memory.totalCache)}\t`,
    );
  }
  if (data.cpu)
    rows.push(`cpuacct.usage\t${integer(data.cpu.usage?.total ?? 0)}\t`, `cpuacct.usage_percpu\t[${(data.cpu.usage?.perCpu ?? []).map(integer).join(" ")}]\t`);
  if (data.pids) rows.push(`pids.current\t${integer(data.pids.current)}\t`, `pids.limit\t${integer(data.pids.limit)}\t`);
  return rows;
}

function cgroupV2Rows(data: cgroupsV2.Metrics): string[] {
  const rows: string[] = [];
  if (data.pids) rows.push(`pids.current\t${integer(data.pids.current)}\t`, `pids.limit\t${integer(data.pids.limit)}\t`);
  if (data.cpu) {
    const cpu = data.cpu;
    rows.push(`cpu.usage_usec\t${integer(cpu.usageUsec)}\t`, `cpu.user_usec\t${integer(cpu.userUsec)}\t`, `cpu.system_usec\t${integer(cpu.systemUsec)}\t`);
    rows.push(
      `cpu.nr_periods\t${integer(cpu.nrPeriods)}\t`,
      `cpu.nr_throttled\t${integer(cpu.nrThrottled)}\t`,
      `cpu.throttled_usec\t${integer(cpu.throttledUsec)}\t`,
    );
  }
  if (data.memory) {
    const memory = data.memory;
    rows.push(
      `memory.usage\t${integer(memory.usage)}\t`,
      `memory.usage_limit\t${integer(memory.usageLimit)}\t`,
      `memory.swap_usage\t${integer(memory.swapUsage)}\t`,
      `memory.swap_limit\t${integer(memory.swapLimit)}\t`,
    );
  }
  return rows;
}

/** Go's json.MarshalIndent with two spaces; uint64 counters (bigint) printed as the numbers they are. */
function jsonWithIntegers(value: unknown): string {
  const marked = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? `\u0000${v}\u0000` : v), "  ");
  // JSON.stringify writes the markers as \u0000 escapes.
  return marked.replace(/"\\u0000(\d+)\\u0000"/g, "$1");
}

export class TasksMetrics extends CtrCommand {
  static override summary = "get a single data point of metrics for a task with the built-in Linux runtime";
  static override aliases = aliases(taskTopics, ["metrics", "metric"]);
  static override args = { id: Args.string({ required: true, description: "container id" }) };
  static override flags = { format: Flags.string({ description: '"table" or "json"', default: "table" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TasksMetrics);
    const client = await this.connect(flags);
    const { knownTypes } = await import("@berth/api/known-types");
    await loadTask(client, args.id);
    const [metric] = await client.tasks.metrics(client.context(), [`id==${args.id}`]);
    if (metric === undefined || metric.data === undefined) throw new Error("no metrics received");
    const data = knownTypes().unpack<cgroupsV1.Metrics & cgroupsV2.Metrics>(metric.data);
    if (flags.format === "json") {
      this.print(`${jsonWithIntegers(goJson(data))}\n`);
      return;
    }
    if (flags.format !== "table") throw new Error(`unknown format ${JSON.stringify(flags.format)}`);
    // A blank line ends a tabwriter block: the two tables are aligned apart, as ctr's.
    const head = tabwriter(["ID\tTIMESTAMP\t", `${metric.id}\t${goTimeString(metric.timestamp)}\t`], 1, 4);
    const rows = metric.data.typeUrl.endsWith("cgroups.v2.Metrics") ? cgroupV2Rows(data) : cgroupV1Rows(data);
    this.print(`${head}\n${tabwriter(["METRIC\tVALUE\t", ...rows], 1, 4)}`);
  }
}
