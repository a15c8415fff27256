/** A running task as the daemon's metrics see it. */
export interface RunningTask {
  readonly namespace: string;
  /** The container's id: the `container_id` label. */
  readonly id: string;
  /** The runtime's name, e.g. "io.containerd.runc.v2": the `runtime` label. */
  readonly runtime: string;
  /** The task's init process; its /proc/<pid>/cgroup locates the cgroup when `cgroupsPath` is absent. */
  readonly pid: number;
  /** `linux.cgroupsPath` of the task's OCI spec when it is a cgroupfs path ("/default/redis"). */
  readonly cgroupsPath?: string | undefined;
}

/**
 * What the daemon's per-container metrics ask of a runtime: the tasks running now. Any plugin
 * instance that implements it is asked at every scrape (and only then), so a task that is gone
 * from the list takes its series with it. containerd's runtime tells its task monitor about each
 * task; Berth's metrics ask instead, so nothing is kept between scrapes.
 */
export interface RunningTasks {
  runningTasks(): Promise<readonly RunningTask[]>;
}

/** Whether a plugin's instance offers its running tasks to the metrics. */
export function isRunningTasks(value: unknown): value is RunningTasks {
  return typeof value === "object" && value !== null && typeof (value as Partial<RunningTasks>).runningTasks === "function";
}
