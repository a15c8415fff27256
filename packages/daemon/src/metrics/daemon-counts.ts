import type { Exchange } from "@berth/events";
import type { PluginOutcome } from "@berth/plugin";
import type { Registry } from "./prom.js";
import type { Metadata } from "../plugins/core.js";
import { pluginTypes } from "../plugins/types.js";
import { type CountSources, registerCounts } from "./counts.js";
import { runningTaskSources } from "./running-tasks.js";

/** The daemon's counts, from whichever of the metadata store, exchange and runtimes are loaded. */
export function registerDaemonCounts(registry: Registry, outcomes: readonly PluginOutcome[]): void {
  const loaded = (type: string) => outcomes.find((o) => o.plugin.type === type && o.error === undefined)?.instance;
  const metadata = loaded(pluginTypes.metadata) as Metadata | undefined;
  const exchange = loaded(pluginTypes.event) as Exchange | undefined;
  const sources: CountSources = {
    async tasks() {
      const counts = new Map<string, number>();
      for (const source of runningTaskSources(outcomes)) {
        for (const task of await source.runningTasks()) counts.set(task.namespace, (counts.get(task.namespace) ?? 0) + 1);
      }
      return counts;
    },
  };
  if (exchange !== undefined) sources.events = () => exchange.stats();
  if (metadata !== undefined) {
    sources.namespaces = () => metadata.store.namespaces.getKeysCount();
    sources.images = () => metadata.images.table.countByNamespace();
    sources.containers = () => metadata.containers.table.countByNamespace();
    sources.snapshots = () => new Map([...metadata.snapshotters].map(([name, snapshotter]) => [name, snapshotter.table.countByNamespace()]));
  }
  registerCounts(registry, sources);
}
