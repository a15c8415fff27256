import type { ContainerMetrics } from "../metrics/containers.js";
import { runningTaskSources } from "../metrics/running-tasks.js";
import type { Plugin } from "./registry.js";
import { hostPlatform, pluginTypes } from "./types.js";

/**
 * containerd's cgroups task monitor: with `[metrics] address` set, each scrape reads the cgroup of
 * every task the runtimes list (looked up at scrape time, so that load order does not matter) into
 * containerd's per-container metrics.
 */
export const cgroupsMonitorPlugin: Plugin<ContainerMetrics | undefined> = {
  type: pluginTypes.monitor,
  id: "cgroups",
  platforms: [hostPlatform],
  init: async ({ metrics, plugins, logger }) => {
    if (metrics === undefined) return undefined;
    const { ContainerMetrics } = await import("../metrics/containers.js");
    const collector = new ContainerMetrics(metrics.registry, () => runningTaskSources(plugins), logger);
    metrics.addScrapeHook(collector);
    return collector;
  },
};
