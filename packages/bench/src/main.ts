import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "@berth/client";
import {
  type RunningDaemon,
  type RunningRegistry,
  disposeTaskDaemon,
  freePort,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
  stockCtr,
} from "@berth/testkit";
import { type Both, type OnBoth, type Side, type Target, optionValue, row, selectedSuites } from "./harness.js";
import { type Outcome, attempt, sleep } from "./measure.js";
import { runtimeRows, taskNamespaces } from "./runtime.js";
import { cliRows } from "./cli-rows.js";
import { berthCtr } from "./suites/cli.js";
import { type IngestBlob, createIngestBlob, ingestMbPerSecond } from "./suites/content.js";
import { eventRate } from "./suites/events.js";
import { unaryLatency } from "./suites/grpc.js";
import { ctrImagesLsMs, imagesListRpcMs, seedImages } from "./suites/images.js";
import { type Layer, createLayer, layerApplyMbPerSecond } from "./suites/layers.js";
import { criFigures } from "./suites/cri.js";
import { type MemoryTotal, memoryOf, residentMb, spareShimsOf } from "./suites/memory.js";
import { scrapeWithContainersMs } from "./suites/metrics.js";
import { pullRows } from "./pull-rows.js";
import { profileReport } from "./profile.js";
import { type SnapshotLatencyStats, prepareCommitLatency } from "./suites/snapshots.js";
import { type Row, formatTable, ratio } from "./table.js";

/** Every daemon started or starting, so that an interrupt during start-up still removes it. */
const daemons: Promise<RunningDaemon | undefined>[] = [];
/** The registry of the pull benchmarks, once started. */
let registry: RunningRegistry | undefined;
const clients: Client[] = [];
/** Removers of temp files written by the benchmarks. */
const tempFiles: (() => void)[] = [];
let cleaning: Promise<void> | undefined;
let interrupted = false;
const interruption = new AbortController();

/** Closes the clients and stops and removes the daemons (and whatever their tasks left), once. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const client of clients) client.close();
    for (const remove of tempFiles.splice(0)) {
      try {
        remove();
      } catch (error) {
        console.error(`bench: removing a temp file: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    await Promise.allSettled([
      ...daemons.map(async (starting) => {
        const daemon = await starting;
        if (daemon !== undefined) await disposeTaskDaemon(daemon, taskNamespaces);
      }),
      registry?.stop(),
    ]);
  })();
  return cleaning;
}

for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.once(signal, () => {
    interrupted = true;
    interruption.abort();
    console.error(`bench: ${signal}, stopping the daemons`);
    void cleanup().finally(() => process.exit(code));
  });
}

/** `--json <path>` (default path bench-results.json); undefined without --json. */
function jsonPath(args: readonly string[]): string | undefined {
  const index = args.indexOf("--json");
  if (index < 0) return undefined;
  const path = args[index + 1];
  return path === undefined || path.startsWith("--") ? "bench-results.json" : path;
}

async function connect(daemon: RunningDaemon): Promise<Client> {
  const client = await Client.connect({ address: daemon.address, namespace: "bench" });
  clients.push(client);
  return client;
}

const nodeOptions = process.env.NODE_OPTIONS ?? "";

/** berthd without the CRI, as every daemon of the bench runs (see where berthd starts). */
const withoutCri = `version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n`;

/**
 * With `--profile <dir>`, every Node process started from here on (Berth's ctr, berthd and its shims)
 * writes a V8 CPU profile into `<dir>/<phase>`; the figures of a profiled run are slower than a plain one.
 */
function profilePhase(root: string | undefined, phase: string): void {
  if (root === undefined) return;
  const directory = join(root, phase);
  mkdirSync(directory, { recursive: true });
  process.env.NODE_OPTIONS = `${nodeOptions} --cpu-prof --cpu-prof-dir=${directory}`.trim();
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = jsonPath(args);
  const suites = selectedSuites(args);
  const profiles = optionValue(args, "profile");
  const profileRoot = profiles === undefined ? undefined : resolve(profiles);
  const phase = (name: string) => profilePhase(profileRoot, name);
  try {
    phase("berthd");
    console.error(`bench: starting berthd${stockContainerdInstalled ? " and stock containerd" : " (stock containerd is not installed)"}`);
    const start = <T extends RunningDaemon | undefined>(starter: () => Promise<T>): Promise<T> => {
      if (interrupted) throw new Error("interrupted");
      const daemon = starter();
      daemons.push(daemon);
      return daemon;
    };
    // Both serve /v1/metrics. containerd counts its gRPC calls whether or not it does, so Berth's
    // does too, and the other figures compare like with like. Both run without the CRI, as
    // testkit's containerd does (the CRI suite measures its own daemons).
    const [berthPort, stockPort] = [await freePort(), await freePort()];
    const berthConfig = `${withoutCri}[metrics]\n  address = "127.0.0.1:${berthPort}"\n`;
    const berthd = await start(() => startBerthd({ logLevel: "info", config: berthConfig }));
    const containerd = await start(() => startStockContainerd({ metrics: { address: `127.0.0.1:${stockPort}` } }));

    // Idle memory first, before any benchmark has touched the daemons.
    await sleep(2000);
    const rss = async (daemon: RunningDaemon) => residentMb(daemon.process.pid ?? Number.NaN);
    const memory: Both<number> = {
      berth: await attempt("idle RSS (berth)", () => rss(berthd)),
      containerd: containerd === undefined ? undefined : await attempt("idle RSS (containerd)", () => rss(containerd)),
    };
    // What berthd keeps beside itself for the next namespace's first task (containerd keeps nothing).
    const spare: Both<MemoryTotal> = {
      berth: await attempt("spare shim memory (berth)", async () => {
        const spares = spareShimsOf(berthd.process.pid ?? Number.NaN, berthd.address);
        if (spares.length === 0) throw new Error("berthd keeps no spare shim");
        return memoryOf(spares);
      }),
      containerd: undefined,
    };

    const targets: Target[] = [
      { side: "berth", daemon: berthd, client: await connect(berthd), subscriptionsReady: true, metricsUrl: `http://127.0.0.1:${berthPort}/v1/metrics` },
    ];
    if (containerd !== undefined) {
      targets.push({
        side: "containerd",
        daemon: containerd,
        client: await connect(containerd),
        subscriptionsReady: false,
        metricsUrl: `http://127.0.0.1:${stockPort}/v1/metrics`,
      });
    }
    const versions: Record<string, string> = {};
    for (const { side, client } of targets) {
      versions[side] = (await client.version()).version;
      // A fresh containerd has no namespaces; Namespaces.Get should read an existing one on both.
      await client.namespaces.create(client.context(), { name: "bench", labels: {} });
    }
    console.error(
      `bench: ${Object.entries(versions)
        .map(([side, version]) => `${side} ${version}`)
        .join(", ")}`,
    );

    const both: OnBoth = async <T>(label: string, run: (target: Target) => Promise<T>): Promise<Both<T>> => {
      const results: Partial<Record<Side, Outcome<T>>> = {};
      for (const target of targets) {
        if (interrupted) throw new Error("interrupted");
        console.error(`bench: ${label} (${target.side})`);
        results[target.side] = await attempt(`${label} (${target.side})`, () => run(target));
      }
      return { berth: results.berth ?? "failed", containerd: results.containerd };
    };

    const rows: Row[] = [
      row("idle RSS (MB)", true, 1, memory, (mb) => mb),
      row("spare shim, idle RSS (MB)", true, 1, spare, (total) => total.rssKb / 1024),
      row("spare shim, idle PSS (MB)", true, 1, spare, (total) => total.pssKb / 1024),
    ];

    if (suites.has("grpc")) {
      phase("grpc");
      // A burst of 1,000 unary calls, 50 at a time, then the daemon's RSS.
      const afterCalls = await both("RSS after 1,000 unary calls", async ({ client, daemon }) => {
        const context = client.context();
        for (let i = 0; i < 1000; i += 50) await Promise.all(Array.from({ length: 50 }, () => client.namespaces.get(context, "bench")));
        return rss(daemon);
      });
      rows.push(row("daemon RSS after 1000 unary calls (MB)", true, 1, afterCalls, (mb) => mb));
      const latency = await both("namespaces get latency", ({ client }) => unaryLatency(client, "bench", { warmup: 200, calls: 3000 }));
      rows.push(
        row("namespaces get latency, mean (µs)", true, 0, latency, (stats) => stats.meanUs),
        row("namespaces get latency, p50 (µs)", true, 0, latency, (stats) => stats.p50Us),
        row("namespaces get latency, p99 (µs)", true, 0, latency, (stats) => stats.p99Us),
      );
    }

    if (suites.has("events")) {
      phase("events");
      const eventsOf =
        (subscribers: number) =>
        ({ client, subscriptionsReady }: Target) =>
          eventRate(client, { events: 3000, subscribers, inFlight: 32, awaitReady: subscriptionsReady, timeoutMs: 20_000 });
      await both("events warm-up", ({ client, subscriptionsReady }) =>
        eventRate(client, { events: 300, subscribers: 1, awaitReady: subscriptionsReady, timeoutMs: 10_000 }),
      );
      const events1 = await both("events, 1 subscriber", eventsOf(1));
      const events10 = await both("events, 10 subscribers", eventsOf(10));
      rows.push(
        row("events/s, 1 subscriber", false, 0, events1, (rate) => rate),
        row("events/s, 10 subscribers", false, 0, events10, (rate) => rate),
      );
    }

    if (suites.has("cli")) {
      phase("cli");
      rows.push(...(await cliRows(targets)));
    }

    if (suites.has("images")) {
      phase("images");
      // 1,000 images in a namespace of each daemon, all of one small manifest; then listing them.
      const imagesNamespace = "bench-images";
      const imageCount = 1000;
      const seeded = await both(`creating ${imageCount} images`, ({ client }) => seedImages(client, imagesNamespace, { count: imageCount, timeoutMs: 60_000 }));
      const ifSeeded =
        <T>(run: (target: Target) => Promise<T>) =>
        async (target: Target): Promise<T> => {
          if (typeof seeded[target.side] === "string") throw new Error(`its ${imageCount} images were not created`);
          return run(target);
        };
      const imagesRpc = await both(
        "Images.List latency",
        ifSeeded(({ client }) => imagesListRpcMs(client, imagesNamespace, { expected: imageCount, samples: 10, timeoutMs: 30_000 })),
      );
      let imagesLs: Both<number> = { berth: "-", containerd: undefined };
      let ownCtrImagesLs: Both<number> = { berth: "-", containerd: undefined };
      if (stockCtr !== undefined) {
        const ctr = stockCtr;
        const lsOptions = { expected: imageCount, samples: 5, timeoutMs: 20_000 };
        imagesLs = await both(
          `${ctr} images ls`,
          ifSeeded(({ client }) => ctrImagesLsMs(ctr, client.address, imagesNamespace, lsOptions)),
        );
        // Each side's own ctr: Berth's reads what it lists through its own client.
        ownCtrImagesLs = await both(
          "own ctr images ls",
          ifSeeded(({ side, client }) => ctrImagesLsMs(side === "berth" ? [process.execPath, berthCtr] : ctr, client.address, imagesNamespace, lsOptions)),
        );
      }
      rows.push(
        row(`images list RPC, ${imageCount} images, median (ms)`, true, 1, imagesRpc, (ms) => ms),
        row(`ctr images ls, ${imageCount} images, stock ctr into each daemon, median (ms)`, true, 0, imagesLs, (ms) => ms),
        row(`ctr images ls, ${imageCount} images, own ctr, median (ms)`, true, 0, ownCtrImagesLs, (ms) => ms),
      );
    }

    if (suites.has("snapshots")) {
      phase("snapshots");
      // Snapshots on overlayfs: a chain of prepare+commit pairs, each namespace and lease of its own, removed afterwards.
      const snapshotSamples = 50;
      const snapshotLatency = await both(`snapshot prepare+commit, ${snapshotSamples} chained`, ({ client }) =>
        prepareCommitLatency(client, { namespace: "bench-snapshots", warmup: 5, samples: snapshotSamples, timeoutMs: 40_000 }),
      );
      rows.push(
        row(`snapshot prepare+commit, ${snapshotSamples} chained, mean (ms)`, true, 2, snapshotLatency, (stats: SnapshotLatencyStats) => stats.meanMs),
        row(`snapshot prepare+commit, ${snapshotSamples} chained, p50 (ms)`, true, 2, snapshotLatency, (stats: SnapshotLatencyStats) => stats.p50Ms),
      );
    }

    if (suites.has("layers")) {
      phase("layers");
      // Layer apply: one gzipped tar of 600 files of 100 kB, applied by the Diff service onto fresh overlayfs snapshots.
      if (interrupted) throw new Error("interrupted");
      console.error("bench: building a 60 MB layer");
      const layer: Outcome<Layer> = await attempt("building the layer", async () =>
        createLayer({ directories: 6, filesPerDirectory: 100, fileSize: 100_000, level: 6 }),
      );
      const layerMb = typeof layer === "string" ? "60" : (layer.tarSize / 1e6).toFixed(1);
      const layerApply: Both<number> =
        typeof layer === "string"
          ? { berth: layer, containerd: containerd === undefined ? undefined : layer }
          : await both(`layer apply of a ${layerMb} MB tar`, ({ client }) =>
              layerApplyMbPerSecond(client, layer, { namespace: "bench-layers", runs: 3, timeoutMs: 90_000 }),
            );
      rows.push(row(`layer apply, ${layerMb} MB tar (gzip), median (MB/s)`, false, 1, layerApply, (rate) => rate));
    }

    if (suites.has("pull")) {
      phase("pull");
      if (interrupted) throw new Error("interrupted");
      const startFresh = async (side: Side): Promise<RunningDaemon> => {
        const daemon = await start(() => (side === "berth" ? startBerthd({ logLevel: "info", config: withoutCri }) : startStockContainerd()));
        if (daemon === undefined) throw new Error("stock containerd is not installed");
        return daemon;
      };
      rows.push(...(await pullRows(targets, both, async () => (registry = await startRegistry()), startFresh)));
    }

    // Containers and tasks through stock ctr: ctr run latency, ctr containers ls, memory per running task.
    phase("runtime");
    rows.push(
      ...(await runtimeRows({
        suites,
        targets,
        onBoth: both,
        track: (starting) => daemons.push(starting),
        signal: interruption.signal,
        berthShim: optionValue(args, "berth-shim"),
      })),
    );

    // Kubernetes' CRI, with the offline conformance kit: its own berthd and stock containerd.
    if (suites.has("cri")) {
      phase("cri");
      console.error("bench: CRI (pods, containers, critest)");
      const cri = await criFigures();
      rows.push(
        row("CRI: RunPodSandbox + CreateContainer + StartContainer (ms)", true, 0, cri, (c) => c.startMs),
        row("CRI: critest 1.26, whole suite (s)", true, 0, cri, (c) => c.critestS),
        row("CRI: daemon RSS with 20 pods (MB)", true, 0, cri, (c) => c.rss20PodsMb),
      );
    }

    // Content ingest through stock ctr, last: the blobs it leaves to garbage collection would disturb the others.
    if (suites.has("content")) {
      phase("content");
      const ingestBytes = 200e6;
      let ingest: Both<number> = { berth: "-", containerd: undefined };
      if (stockCtr !== undefined) {
        const ctr = stockCtr;
        if (interrupted) throw new Error("interrupted");
        console.error(`bench: writing a ${ingestBytes / 1e6} MB blob`);
        const blob: Outcome<IngestBlob> = await attempt("writing the blob to ingest", async () => {
          const created = createIngestBlob(ingestBytes);
          tempFiles.push(created.remove);
          return created;
        });
        if (typeof blob === "string") ingest = { berth: blob, containerd: containerd === undefined ? undefined : blob };
        else {
          try {
            ingest = await both(`content ingest of ${ingestBytes / 1e6} MB`, ({ client, side }) =>
              ingestMbPerSecond(ctr, client.address, blob, { runs: 3, timeoutMs: 60_000, label: side }),
            );
          } finally {
            blob.remove();
          }
        }
      }
      rows.push(row(`content ingest via ctr, ${ingestBytes / 1e6} MB, median (MB/s)`, false, 1, ingest, (rate) => rate));
    }

    // Last, as 100 running containers would disturb everything else: one scrape of their metrics.
    if (suites.has("metrics") && stockCtr !== undefined) {
      const ctr = stockCtr;
      const scrapedContainers = 100;
      const scrape = await both(`metrics scrape with ${scrapedContainers} containers`, ({ client, metricsUrl, side }) =>
        scrapeWithContainersMs(ctr, client.address, metricsUrl, {
          namespace: "bench-metrics",
          count: scrapedContainers,
          archivePath: join(tmpdir(), `berth-bench-busybox-${process.pid}-${side}.tar`),
          samples: 10,
          timeoutMs: 300_000,
        }),
      );
      rows.push(row(`metrics scrape, ${scrapedContainers} running containers, median (ms)`, true, 1, scrape, (ms) => ms));
    }

    console.log(formatTable(rows));

    if (json !== undefined) {
      const results = {
        date: new Date().toISOString(),
        node: process.version,
        cpus: cpus().length,
        versions,
        rows: rows.map((r) => ({ name: r.name, lowerIsBetter: r.lowerIsBetter, berth: r.berth, containerd: r.containerd ?? null, ratio: ratio(r) ?? null })),
      };
      writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
      console.error(`bench: wrote ${json}`);
    }
  } finally {
    await cleanup();
    if (profileRoot !== undefined) {
      writeFileSync(join(profileRoot, "summary.txt"), `${profileReport(profileRoot)}\n`);
      console.error(`bench: CPU profiles in ${profileRoot}, summarised in ${join(profileRoot, "summary.txt")}`);
    }
  }
}

main().catch((error: unknown) => {
  if (interrupted) return; // the signal handler exits once the daemons are gone
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
