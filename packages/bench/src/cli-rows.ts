import { stockCtr } from "@berth/testkit";
import { type Both, type Target, row } from "./harness.js";
import { attempt } from "./measure.js";
import { type CliStartup, cliStartup } from "./suites/cli.js";
import type { Row } from "./table.js";

/**
 * The `cli` suite: `node -e 0` as the floor, `ctr --help` and `ctr version` (Berth's ctr against
 * berthd, stock ctr against containerd) timed in turns, and the peak RSS of `ctr version`.
 */
export async function cliRows(targets: readonly Target[]): Promise<Row[]> {
  const berth = targets.find((target) => target.side === "berth")!;
  const stock = targets.find((target) => target.side === "containerd");
  console.error("bench: CLI start-up (node -e 0, ctr --help, ctr version, in turns)");
  const startup = await attempt("CLI start-up", async () => {
    if (stockCtr === undefined || stock === undefined) throw new Error("needs stock ctr and containerd");
    return cliStartup(stockCtr, berth.client.address, stock.client.address);
  });
  const pick = (value: (figures: CliStartup) => { berth: number | string; stock: number | string }): Both<number> =>
    typeof startup === "string" ? { berth: startup, containerd: startup } : { berth: value(startup).berth, containerd: value(startup).stock };
  const floor = pick((figures) => ({ berth: figures.nodeFloorMs, stock: figures.nodeFloorMs }));
  return [
    row("node -e 0 (the floor), median (ms)", true, 1, { berth: floor.berth, containerd: undefined }, (ms) => ms),
    row(
      "ctr --help cold start, median (ms)",
      true,
      1,
      pick((figures) => figures.helpMs),
      (ms) => ms,
    ),
    row(
      "ctr version, median (ms)",
      true,
      1,
      pick((figures) => figures.versionMs),
      (ms) => ms,
    ),
    row(
      "ctr version, peak RSS (MB)",
      true,
      1,
      pick((figures) => figures.versionPeakRssMb),
      (mb) => mb,
    ),
    // Berth's ctr beside the floor: the containerd column holds `node -e 0`, so the ratio is "x of Node's own start".
    row(
      "Berth ctr --help / node -e 0, median (ms)",
      true,
      1,
      pick((figures) => ({ berth: figures.helpMs.berth, stock: figures.nodeFloorMs })),
      (ms) => ms,
    ),
    row(
      "Berth ctr version / node -e 0, median (ms)",
      true,
      1,
      pick((figures) => ({ berth: figures.versionMs.berth, stock: figures.nodeFloorMs })),
      (ms) => ms,
    ),
  ];
}
