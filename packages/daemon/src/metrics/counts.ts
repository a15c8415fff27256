import { Counter, Gauge, type Registry } from "./prom.js";
import type { ExchangeStats } from "@berth/events";

/** What the daemon's object counts are read from at scrape time; absent parts are not reported. */
export interface CountSources {
  namespaces?(): number;
  images?(): Map<string, number>;
  containers?(): Map<string, number>;
  tasks?(): Promise<Map<string, number>>;
  /** Snapshots by snapshotter, then namespace. */
  snapshots?(): Map<string, Map<string, number>>;
  events?(): ExchangeStats;
}

/**
 * The daemon's own gauges, Berth's addition to containerd's set: objects it holds by namespace,
 * and the event exchange's subscribers, queue depth (events and bytes) and drops. All read when scraped.
 */
export function registerCounts(registry: Registry, sources: CountSources): void {
  const registers = [registry];
  const byNamespace = (name: string, help: string, read: () => Map<string, number> | Promise<Map<string, number>>) =>
    new Gauge({
      name,
      help,
      labelNames: ["namespace"],
      registers,
      async collect() {
        const counts = await read();
        this.reset();
        for (const [namespace, count] of counts) this.set({ namespace }, count);
      },
    });
  if (sources.namespaces) {
    const read = sources.namespaces;
    new Gauge({
      name: "berth_namespaces",
      help: "Namespaces in the metadata store.",
      registers,
      collect() {
        this.set(read());
      },
    });
  }
  if (sources.images) byNamespace("berth_images", "Images, by namespace.", sources.images);
  if (sources.containers) byNamespace("berth_containers", "Containers, by namespace.", sources.containers);
  if (sources.tasks) byNamespace("berth_tasks", "Running tasks, by namespace.", sources.tasks);
  if (sources.snapshots) {
    const read = sources.snapshots;
    new Gauge({
      name: "berth_snapshots",
      help: "Snapshots, by snapshotter and namespace.",
      labelNames: ["snapshotter", "namespace"],
      registers,
      collect() {
        this.reset();
        for (const [snapshotter, counts] of read()) for (const [namespace, count] of counts) this.set({ snapshotter, namespace }, count);
      },
    });
  }
  if (sources.events) {
    const read = sources.events;
    new Gauge({
      name: "berth_events_subscribers",
      help: "Open event subscriptions.",
      registers,
      collect() {
        this.set(read().subscribers);
      },
    });
    new Gauge({
      name: "berth_events_queued",
      help: "Events waiting in subscribers' queues.",
      registers,
      collect() {
        this.set(read().queued);
      },
    });
    new Gauge({
      name: "berth_events_queued_bytes",
      help: "Bytes of the events waiting in subscribers' queues.",
      registers,
      collect() {
        this.set(read().queuedBytes);
      },
    });
    const counter = (name: string, help: string, pick: (stats: ExchangeStats) => number, labels: Record<string, string> = {}) =>
      new Counter({
        name,
        help,
        labelNames: Object.keys(labels),
        registers,
        collect() {
          this.reset();
          this.inc(labels, pick(read()));
        },
      });
    counter("berth_events_published_total", "Events published or forwarded to the exchange.", (s) => s.published);
    // The one reason today; a label, so that another can be told apart.
    counter(
      "berth_events_dropped_subscribers_total",
      "Subscribers dropped, by reason (stopped_reading: over the queue bound and taking no event for the stall timeout).",
      (s) => s.dropped,
      {
        reason: "stopped_reading",
      },
    );
  }
}
