import { type RunningDaemon, type RunningRegistry, buildLargeImage, pushTestImage, stockCtr } from "@berth/testkit";
import { type Both, type OnBoth, type Side, type Target, row } from "./harness.js";
import { type Outcome, attempt, sleep } from "./measure.js";
import { berthCtr } from "./suites/cli.js";
import { residentMb } from "./suites/memory.js";
import { type PullSuite, type PullTiming, ctrPull, pullSuite } from "./suites/pull.js";
import type { Row } from "./table.js";

/** Each side's own ctr: Berth's against berthd, stock ctr against containerd. */
const ownCtr = (target: Target): string[] => (target.side === "berth" ? [process.execPath, berthCtr] : [stockCtr ?? "ctr"]);

/** Layer counts of the pull cost curve; each layer past the first (busybox) holds 2 MB. */
const curveLayers = [1, 4, 16] as const;

/**
 * The `pull` suite: a ~60 MB 4-layer image pulled cold, again into the same namespace, and into a
 * new namespace (each side with its own ctr); the same size pulled cold by stock ctr into berthd
 * (another image, so that berthd has none of its data layers); each daemon's RSS after the pulls,
 * and after the same pull into a fresh daemon of each side (`startFresh`, cleaned up here); and
 * cold pulls of 1, 4 and 16 layers. `start` starts the registry, which the caller stops.
 */
export async function pullRows(
  targets: readonly Target[],
  onBoth: OnBoth,
  start: () => Promise<RunningRegistry>,
  startFresh: (side: Side) => Promise<RunningDaemon>,
): Promise<Row[]> {
  console.error("bench: building the images to pull and starting a registry");
  const layerBytes = [19.5e6, 19.5e6, 19.5e6];
  const pullImage = buildLargeImage({ layerBytes, filesPerLayer: 200 });
  const stockIntoBerthImage = buildLargeImage({ layerBytes, filesPerLayer: 200 });
  const pullMb = [pullImage.config, ...pullImage.layers].reduce((sum, d) => sum + d.size, 0) / 1e6;
  const registry = await start();
  await pushTestImage(pullImage, { url: registry.url, repository: "bench/pull", tag: "1" });
  await pushTestImage(stockIntoBerthImage, { url: registry.url, repository: "bench/pull-stock", tag: "1" });
  const pullRef = `${registry.host}/bench/pull:1`;

  const pulls = await onBoth(`pulls of a ${pullMb.toFixed(1)} MB image`, (target) =>
    pullSuite({
      ctr: ownCtr(target),
      address: target.client.address,
      ref: pullRef,
      prefix: "bench-pull",
      timeoutMs: 120_000,
      daemonPid: target.daemon.process.pid ?? Number.NaN,
    }),
  );
  const afterPull = await onBoth("RSS after the pulls", ({ daemon }) => residentMb(daemon.process.pid ?? Number.NaN));
  // The same pull into a daemon that has done nothing else, two quiet seconds later: what a pull
  // leaves, without what the suites before it left.
  const afterPullFresh = await onBoth("RSS after a pull into a fresh daemon", async (target) => {
    const daemon = await startFresh(target.side);
    try {
      await ctrPull({ ctr: ownCtr(target), address: daemon.address, namespace: "bench-fresh", ref: pullRef, timeoutMs: 120_000 });
      await sleep(2000);
      return await residentMb(daemon.process.pid ?? Number.NaN);
    } finally {
      await daemon.cleanup();
    }
  });
  const berth = targets.find((target) => target.side === "berth")!;
  const stockIntoBerth: Outcome<PullTiming> =
    stockCtr === undefined
      ? "n/a"
      : await attempt("cold pull, stock ctr into berthd", async () => {
          console.error("bench: cold pull, stock ctr into berthd");
          return await ctrPull({
            ctr: [stockCtr!],
            address: berth.client.address,
            namespace: "bench-pull-stock",
            ref: `${registry.host}/bench/pull-stock:1`,
            timeoutMs: 120_000,
            daemonPid: berth.daemon.process.pid ?? Number.NaN,
          });
        });

  const curve: Both<number>[] = [];
  for (const layers of curveLayers) {
    const image = buildLargeImage({ layerBytes: Array.from({ length: layers - 1 }, () => 2e6), filesPerLayer: 8 });
    await pushTestImage(image, { url: registry.url, repository: `bench/layers-${layers}`, tag: "1" });
    curve.push(
      await onBoth(`cold pull of ${layers} layers`, async (target) => {
        const timing = await ctrPull({
          ctr: ownCtr(target),
          address: target.client.address,
          namespace: `bench-layers-${layers}`,
          ref: `${registry.host}/bench/layers-${layers}:1`,
          timeoutMs: 120_000,
        });
        return timing.totalS;
      }),
    );
  }

  const mb = pullMb.toFixed(0);
  const cold = (p: PullSuite) => p.cold.totalS;
  // Stock ctr's cold pull into each daemon: into containerd it is the cold pull of the suite above.
  const coldOf = (suite: Outcome<PullSuite> | undefined) => (suite === undefined || typeof suite === "string" ? suite : suite.cold);
  const stockCold: Both<PullTiming> = { berth: stockIntoBerth, containerd: coldOf(pulls.containerd) };
  return [
    row(`cold pull, ${mb} MB 4 layers, own ctr: total (s)`, true, 2, pulls, cold),
    row(`cold pull, ${mb} MB 4 layers: fetch (s)`, true, 2, pulls, (p: PullSuite) => p.cold.fetchS),
    row(`cold pull, ${mb} MB 4 layers: unpack (s)`, true, 2, pulls, (p: PullSuite) => p.cold.unpackS),
    row(`cold pull, ${mb} MB 4 layers: fetch (MB/s)`, false, 1, pulls, (p: PullSuite) => pullMb / p.cold.fetchS),
    row(`cold pull, ${mb} MB 4 layers, own ctr: daemon CPU (s)`, true, 2, pulls, (p: PullSuite) => p.cold.daemonCpuS ?? Number.NaN),
    row(`cold pull, ${mb} MB 4 layers, stock ctr into each daemon: total (s)`, true, 2, stockCold, (t) => t.totalS),
    row(`cold pull, ${mb} MB 4 layers, stock ctr into each daemon: daemon CPU (s)`, true, 2, stockCold, (t) => t.daemonCpuS ?? Number.NaN),
    row("warm pull into a new namespace, total (s)", true, 2, pulls, (p: PullSuite) => p.newNamespace.totalS),
    row("warm pull into a new namespace, unpack (s)", true, 2, pulls, (p: PullSuite) => p.newNamespace.unpackS),
    row("re-pull into the same namespace, total (s)", true, 2, pulls, (p: PullSuite) => p.sameNamespace.totalS),
    row(`daemon RSS after a ${mb} MB pull (MB)`, true, 1, afterPull, (rss) => rss),
    row(`daemon RSS after a ${mb} MB pull, fresh daemon, 2 s later (MB)`, true, 1, afterPullFresh, (rss) => rss),
    ...curveLayers.map((layers, i) =>
      row(`cost curve: cold pull of ${layers} layer${layers === 1 ? "" : "s"}, own ctr, total (s)`, true, 2, curve[i]!, (s) => s),
    ),
  ];
}
