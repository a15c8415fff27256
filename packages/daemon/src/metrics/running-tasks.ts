import { type Runtime, type RunningTask, type RunningTasks, isRunningTasks } from "@berth/api";
import type { PluginOutcome } from "@berth/plugin";
import { pluginTypes } from "../plugins/types.js";

/** A runtime's tasks in every namespace; each one's cgroup is found from its init process. */
function tasksOfRuntime(runtime: Runtime): RunningTasks {
  return {
    async runningTasks(): Promise<RunningTask[]> {
      const tasks = await runtime.tasks({}, true);
      return tasks.map((task) => ({ namespace: task.namespace, id: task.id, runtime: task.runtime, pid: task.pid }));
    },
  };
}

/**
 * Where the metrics learn which tasks run: every loaded runtime plugin (containerd's
 * io.containerd.runtime.v2 and v1 types) and any other plugin instance that implements RunningTasks.
 * Read from the outcomes at each call, so plugins loaded after the metrics' own are included.
 */
export function runningTaskSources(outcomes: readonly PluginOutcome[]): RunningTasks[] {
  const sources: RunningTasks[] = [];
  for (const outcome of outcomes) {
    if (outcome.error !== undefined) continue;
    if (outcome.plugin.type === pluginTypes.runtime || outcome.plugin.type === pluginTypes.runtimeV1) sources.push(tasksOfRuntime(outcome.instance as Runtime));
    else if (isRunningTasks(outcome.instance)) sources.push(outcome.instance);
  }
  return sources;
}
