/** One value of a metric for a container, with the values of the metric's own labels. */
export type Sample = readonly [value: bigint | number, labels?: readonly string[]];

/**
 * A per-container metric as containerd defines it: full name (namespace "container", unit
 * suffix included), help, its own labels after container_id and namespace, and how to read its
 * samples from a cgroup statistics message.
 */
export interface ContainerMetric<Stats> {
  readonly name: string;
  readonly help: string;
  readonly labels?: readonly string[];
  /** containerd's v1 OOM counter is registered without the runtime label. */
  readonly withoutRuntime?: boolean;
  samples(stats: Stats): readonly Sample[];
}

/** A metric of one value, absent when `pick` finds no section. */
export const single = <Stats>(name: string, help: string, pick: (stats: Stats) => bigint | number | undefined): ContainerMetric<Stats> => ({
  name,
  help,
  samples: (stats) => {
    const value = pick(stats);
    return value === undefined ? [] : [[value]];
  },
});
