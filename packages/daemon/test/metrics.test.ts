import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  type PromSample,
  type RunningDaemon,
  freePort,
  promSamples,
  runCommand,
  scrapeProm,
  startBerthd,
  startStockContainerd,
  stockContainerdInstalled,
  stockCtr,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InspectableBerthd, startInspectableBerthd } from "./held-modules.js";

const berthdMain = fileURLToPath(new URL("main.js", import.meta.resolve("@berth/daemon")));
const metricsConfig = (port: number, histogram: boolean) => `version = 2\n[metrics]\n  address = "127.0.0.1:${port}"\n  grpc_histogram = ${histogram}\n`;

/** A series as text, for comparing two daemons' sets of series. */
const seriesKey = (s: PromSample) =>
  `${s.name}{${Object.entries(s.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(",")}}`;

describe("berthd's metrics endpoint", () => {
  let berthd: RunningDaemon;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    berthd = await startBerthd({ config: metricsConfig(port, true), logLevel: "info" });
    url = `http://127.0.0.1:${port}/v1/metrics`;
  });
  afterAll(async () => {
    await berthd?.cleanup();
  });

  it("serves GET /v1/metrics in the Prometheus text format, and nothing else", async () => {
    const { contentType, samples } = await scrapeProm(url);
    expect(contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(samples.length).toBeGreaterThan(100);
    expect((await fetch(url.replace("/v1/metrics", "/metrics"))).status).toBe(404);
    expect((await fetch(url, { method: "POST" })).status).toBe(405);
    expect(berthd.logs()).toContain('"msg":"serving metrics"');
  });

  it("reports the process as Go's client reports containerd's", async () => {
    const { samples } = await scrapeProm(url);
    const value = (name: string) => promSamples(samples, name)[0]?.value ?? Number.NaN;
    expect(value("process_resident_memory_bytes")).toBeGreaterThan(10e6);
    expect(value("process_virtual_memory_bytes")).toBeGreaterThan(value("process_resident_memory_bytes"));
    expect(Math.abs(value("process_start_time_seconds") - Date.now() / 1000)).toBeLessThan(600);
    expect(value("process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(value("process_open_fds")).toBeGreaterThan(3);
    expect(value("process_max_fds")).toBeGreaterThanOrEqual(value("process_open_fds"));
  });

  it.skipIf(!stockContainerdInstalled)("counts what berthd holds, its event subscribers and what the exchange published", async () => {
    const ctr = (...args: string[]) => runCommand(stockCtr!, ["--address", berthd.address, ...args]);
    expect((await ctr("namespaces", "create", "counted-a")).code).toBe(0);
    expect((await ctr("namespaces", "create", "counted-b")).code).toBe(0);
    // berthd's own plugins (the CRI's exit monitor) subscribe too: count what ctr adds.
    const ownSubscribers = promSamples((await scrapeProm(url)).samples, "berth_events_subscribers")[0]?.value ?? 0;
    const events = spawn(stockCtr!, ["--address", berthd.address, "events"], { stdio: "ignore" });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { samples } = await scrapeProm(url);
      const namespaces = (await ctr("namespaces", "ls", "-q")).stdout.split("\n").filter(Boolean);
      expect(promSamples(samples, "berth_namespaces")[0]?.value).toBe(namespaces.length);
      expect(promSamples(samples, "berth_events_subscribers")[0]?.value).toBe(ownSubscribers + 1);
      expect(promSamples(samples, "berth_events_queued")[0]?.value).toBe(0);
      expect(promSamples(samples, "berth_events_published_total")[0]?.value).toBeGreaterThanOrEqual(2);
      expect(promSamples(samples, "berth_events_dropped_subscribers_total", { reason: "stopped_reading" })[0]?.value).toBe(0);
      expect(promSamples(samples, "berth_events_queued_bytes")[0]?.value).toBe(0);
      expect(promSamples(samples, "berth_images")).toEqual([]);
    } finally {
      events.kill("SIGKILL");
    }
  });
});

/** The same calls from stock ctr to berthd and to a stock containerd give the same gRPC series. */
describe.skipIf(!stockContainerdInstalled)("gRPC metrics beside stock containerd", () => {
  const daemons: { berthd?: RunningDaemon; containerd?: RunningDaemon } = {};
  const urls: { berthd?: string; containerd?: string } = {};
  const watchers: ChildProcess[] = [];

  beforeAll(async () => {
    const [berthPort, stockPort] = [await freePort(), await freePort()];
    daemons.berthd = await startBerthd({ config: metricsConfig(berthPort, true), logLevel: "info" });
    urls.berthd = `http://127.0.0.1:${berthPort}/v1/metrics`;
    daemons.containerd = (await startStockContainerd({ metrics: { address: `127.0.0.1:${stockPort}`, grpcHistogram: true } }))!; // the suite is skipped without it
    urls.containerd = `http://127.0.0.1:${stockPort}/v1/metrics`;
    for (const daemon of [daemons.berthd, daemons.containerd]) {
      const ctr = (...args: string[]) => runCommand(stockCtr!, ["--address", daemon.address, ...args]);
      const events = spawn(stockCtr!, ["--address", daemon.address, "events"], { stdio: "ignore" });
      watchers.push(events);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await ctr("namespaces", "create", "m1");
      await ctr("namespaces", "create", "m2", "l=v");
      await ctr("namespaces", "ls");
      await ctr("namespaces", "label", "m1", "a=b");
      await ctr("namespaces", "rm", "missing");
      await ctr("namespaces", "rm", "m2");
      await ctr("version");
      await new Promise((resolve) => setTimeout(resolve, 300));
      events.kill("SIGINT");
      await new Promise((resolve) => events.once("exit", resolve));
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  });
  afterAll(async () => {
    for (const watcher of watchers) watcher.kill("SIGKILL");
    await daemons.berthd?.cleanup();
    await daemons.containerd?.cleanup();
  });

  const services = ["containerd.services.namespaces.v1.Namespaces", "containerd.services.version.v1.Version", "containerd.services.events.v1.Events"];
  const grpcSeries = (samples: PromSample[]) => samples.filter((s) => s.name.startsWith("grpc_server_") && services.includes(s.labels.grpc_service ?? ""));

  it("names and labels every series as go-grpc-prometheus, with the same counts", async () => {
    const berth = grpcSeries((await scrapeProm(urls.berthd!)).samples);
    const stock = grpcSeries((await scrapeProm(urls.containerd!)).samples);
    // Timings differ; which series exist, and every count, must not.
    const counts = (samples: PromSample[]) =>
      new Map(samples.filter((s) => !s.name.endsWith("_sum") && !s.name.endsWith("_bucket")).map((s) => [seriesKey(s), s.value]));
    expect(counts(berth)).toEqual(counts(stock));
    expect(new Set(berth.map(seriesKey))).toEqual(new Set(stock.map(seriesKey)));
  });

  it("counts a call per code, and a streamed message per event", async () => {
    const { samples } = await scrapeProm(urls.berthd!);
    const labels = (service: string, method: string, type = "unary") => ({
      grpc_service: `containerd.services.${service}`,
      grpc_method: method,
      grpc_type: type,
    });
    const value = (name: string, l: Record<string, string>) => promSamples(samples, name, l)[0]?.value;
    expect(value("grpc_server_handled_total", { ...labels("namespaces.v1.Namespaces", "Create"), grpc_code: "OK" })).toBe(2);
    expect(value("grpc_server_handled_total", { ...labels("namespaces.v1.Namespaces", "Delete"), grpc_code: "NotFound" })).toBe(1);
    expect(value("grpc_server_msg_sent_total", labels("namespaces.v1.Namespaces", "Delete"))).toBe(1);
    const subscribe = labels("events.v1.Events", "Subscribe", "server_stream");
    expect(value("grpc_server_started_total", subscribe)).toBe(1);
    expect(value("grpc_server_msg_received_total", subscribe)).toBe(1);
    expect(value("grpc_server_msg_sent_total", subscribe)).toBe(4);
    // A subscription the client ends is handled OK, as on containerd.
    expect(value("grpc_server_handled_total", { ...subscribe, grpc_code: "OK" })).toBe(1);
    expect(value("grpc_server_handling_seconds_count", labels("namespaces.v1.Namespaces", "Create"))).toBe(2);
  });
});

describe("metrics configuration", () => {
  it("is off by default, as containerd's", async () => {
    const result = await runCommand(process.execPath, [berthdMain, "config", "default"]);
    expect(result.stdout).toMatch(/\[metrics\]\naddress = ""\ngrpc_histogram = false\n/);
    const berthd = await startBerthd({ logLevel: "info" });
    try {
      expect(berthd.logs()).not.toContain("serving metrics");
    } finally {
      await berthd.cleanup();
    }
  });

  it("has no latency histogram without grpc_histogram", async () => {
    const port = await freePort();
    const berthd = await startBerthd({ config: metricsConfig(port, false) });
    try {
      const { samples } = await scrapeProm(`http://127.0.0.1:${port}/v1/metrics`);
      expect(samples.some((s) => s.name.startsWith("grpc_server_handling_seconds"))).toBe(false);
      expect(promSamples(samples, "grpc_server_started_total").length).toBeGreaterThan(10);
    } finally {
      await berthd.cleanup();
    }
  });

  it("refuses an address that is not host:port, naming the setting", async () => {
    await expect(startBerthd({ config: 'version = 2\n[metrics]\n  address = "nowhere"\n' })).rejects.toThrow(/metrics\.address/);
  });
});

describe("berthd serving metrics", () => {
  let berthd: InspectableBerthd;

  beforeAll(async () => {
    const port = await freePort();
    berthd = await startInspectableBerthd(metricsConfig(port, true), { logLevel: "info" });
    expect((await scrapeProm(`http://127.0.0.1:${port}/v1/metrics`)).samples.length).toBeGreaterThan(100);
  });
  afterAll(async () => {
    await berthd?.cleanup();
  });

  it("holds prom-client's metric classes and none of its default metrics, Summary, Pushgateway or cluster code (nor @opentelemetry/api)", async () => {
    const modules = await berthd.modules();
    const promClient = modules.filter((path) => path.includes("/node_modules/prom-client/"));
    expect(promClient.some((path) => path.endsWith("/prom-client/lib/registry.js"))).toBe(true);
    expect(promClient.some((path) => path.endsWith("/prom-client/lib/histogram.js"))).toBe(true);
    expect(promClient.filter((path) => /\/prom-client\/(index\.js|lib\/(defaultMetrics|summary|pushgateway|cluster|metrics\/))/.test(path))).toEqual([]);
    expect(modules.filter((path) => path.includes("/@opentelemetry/"))).toEqual([]);
  });

  it("has not loaded Node's undici, which only an ES import of node:http's facade would have", async () => {
    const modules = await berthd.modules();
    expect(modules).toContain("node:internal/http2/core");
    expect(modules).toContain("node:_http_server");
    expect(modules.filter((name) => name.includes("undici"))).toEqual([]);
  });
});
